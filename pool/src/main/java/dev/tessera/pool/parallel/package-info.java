/**
 * joblib's {@code Parallel} for Java, on top of the pools of {@link dev.tessera.pool}.
 *
 * <p><b>What it is for.</b> Running many small tasks with joblib's rules: automatic batching
 * ({@code AutoBatcher}), at most {@code preDispatch} tasks pulled ahead, fail-fast cancellation of the rest,
 * results in order or as they complete, progress messages, and nesting that never multiplies workers.
 *
 * <p><b>Design.</b> {@link dev.tessera.pool.parallel.Parallel} resolves its settings once, in
 * {@code build()}, into one immutable value ({@code ParallelSettings}, after Aeron's
 * {@code CommonContext.conclude()}): the builder's values, else those of the innermost
 * {@link dev.tessera.pool.parallel.ParallelConfig} scope, else the defaults, adjusted for the caller's
 * nesting depth and CPU budget, which are read once from the calling thread. Nothing is looked up again
 * at call time; the part the workers need ({@link dev.tessera.pool.parallel.ParallelBackend.Settings}) is
 * handed to the backend once. Batches go to a {@link dev.tessera.pool.parallel.ParallelBackend}: the
 * built-in sequential backend runs them in the caller's thread, the thread and process backends submit
 * them to a pool through the pools' public {@link dev.tessera.pool.BatchSubmitter}, the same seam a user's
 * backend can use, and registered backends plug in by name. {@code ParallelRun} drives one call.
 *
 * <p><b>Invariants.</b> Every batch has exactly one outcome (compare-and-swap on its state); a failing
 * call cancels only its own batches; a {@code Parallel} owns the backend instance it made and closes it.
 */
package dev.tessera.pool.parallel;
