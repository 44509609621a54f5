/**
 * Worker pools and a joblib-style {@link dev.tessera.pool.parallel.Parallel} front end.
 *
 * <p><b>What it is for.</b> Fanning Java work out to workers (rollouts, data preparation, evaluating
 * many models) with the API of Python's {@code multiprocessing.Pool} ({@link dev.tessera.pool.WorkerPool}),
 * machin's context pools ({@link dev.tessera.pool.ContextPool}) and joblib's {@code Parallel}.
 *
 * <p><b>Design.</b> Every pool is the same front end ({@code AbstractPool}) over an engine: inline
 * ({@link dev.tessera.pool.SequentialPool}), threads ({@link dev.tessera.pool.ThreadPool},
 * {@link dev.tessera.pool.CtxThreadPool}) or worker JVMs ({@link dev.tessera.pool.ProcessPool},
 * {@link dev.tessera.pool.CtxPool}, {@link dev.tessera.pool.P2PPool}). Every call becomes chunks of one internal task
 * shape, {@code (context, argument) -> result}, queued FIFO and taken by worker slots; so one contract test
 * suite covers all six pools. Each slot also has its own FIFO, which it serves first: that is how
 * {@code P2PPool} addresses one worker, and why a crashed worker's addressed tasks wait for its replacement
 * instead of being lost. Process workers each have their own Unix domain socket (one chunk in
 * flight per worker), which is why a worker's death is seen at once as end-of-stream by the one thread
 * that waits on it. {@link dev.tessera.pool.parallel.Parallel} sits one level above: it batches tasks and hands
 * the batches to a {@link dev.tessera.pool.parallel.ParallelBackend} (sequential in the caller, or a thread or
 * process pool, or one a user registered), so joblib's batching, pre-dispatch and fail-fast rules live in
 * one place whatever runs the batches.
 *
 * <p><b>Invariants.</b>
 * <ul>
 *   <li>No call hangs because a worker died: its in-flight chunk fails with
 *       {@link dev.tessera.pool.WorkerCrashedException} and the slot starts a replacement.
 *   <li>Every chunk completes exactly once (CAS on its state), whether it ran, failed, crashed, or was
 *       cancelled.
 *   <li>Workers never outlive the parent: a worker JVM halts when its stdin pipe (held only by the
 *       parent) reaches EOF, or when the parent process exits.
 *   <li>Nested parallelism never multiplies workers: inside a worker, processes become threads limited
 *       to the worker's CPU share, and one level further down everything is sequential.
 *   <li>Tensors cross process boundaries through {@code sharedmem}: by size by default (arrays of at most
 *       {@code optMaxNbytes}, 1 MiB, inside the message, larger ones and every {@code SharedTensor} as stubs),
 *       as stubs or copies on request ({@code optCopyTensors}); plain values use a compact form or Java serialization behind an allow-list filter.
 * </ul>
 */
package dev.tessera.pool;
