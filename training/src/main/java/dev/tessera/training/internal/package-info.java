/**
 * How a DJL parameter is moved onto shared memory and back; not API.
 *
 * <p>{@link dev.tessera.training.internal.ParameterBinding} swaps the native tensor under a parameter's
 * {@code NDArray} with {@code NDArray.intern}, so the Java object that DJL's {@code Parameter},
 * {@code ParameterStore} and optimizers hold stays the same and only the memory under it changes. Releasing a
 * binding swaps a PyTorch-owned copy back in before the mapping is unmapped, which is what keeps a use after
 * close from reaching unmapped memory.
 */
package dev.tessera.training.internal;
