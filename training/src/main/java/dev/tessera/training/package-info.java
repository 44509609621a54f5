/**
 * Training on one host: a DJL Block's parameters in shared memory, for Hogwild-style workers in other JVMs.
 *
 * <p>{@link dev.tessera.training.SharedParameters} moves an initialised Block's parameters into one shared
 * segment in place and hands out a {@link dev.tessera.training.ParameterHandle}, a small serialisable list of
 * {@link dev.tessera.training.SharedParameter} stubs; a worker attaches a Block of the same architecture to it.
 *
 * <p>Invariants: a parameter's {@code NDArray} object never changes (only the native tensor under it does, by
 * {@code NDArray.intern}), so DJL's caches of it stay right; a mapping is unmapped only after the array was
 * given a private copy, so no use after close reaches unmapped memory; the Block's NDManager holds the shared
 * parameters, so garbage collection never unmaps them while the Block can still train.
 */
package dev.tessera.training;
