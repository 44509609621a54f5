/**
 * Implementation of the pools; not API, may change without notice.
 *
 * <p>{@link dev.tessera.pool.internal.PoolCore} owns a FIFO queue of
 * {@link dev.tessera.pool.internal.Chunk}s and one {@link dev.tessera.pool.internal.WorkerSlot} per
 * worker; {@link dev.tessera.pool.internal.InlineEngine} runs chunks in the caller. A
 * {@link dev.tessera.pool.internal.ThreadSlot} runs chunks on its own thread; a
 * {@link dev.tessera.pool.internal.ProcessSlot} drives one worker JVM
 * ({@link dev.tessera.pool.internal.WorkerMain}) over a Unix domain socket framed by
 * {@link dev.tessera.pool.internal.Wire}. Payloads go through a
 * {@link dev.tessera.pool.internal.PayloadCodec}: {@code FastValues} for arrays of boxed primitives and
 * strings, Java serialization with an allow-list filter for other plain graphs, and sharedmem's
 * {@code TensorCodec} for graphs holding tensors ({@link dev.tessera.pool.internal.TensorAwareCodec}).
 *
 * <p>Each task function is sent to a worker once: the parent and the worker keep mirrored LRU caches
 * ({@code FunctionCache}) that evict identically because they see the same sequence of look-ups.
 * A synchronous {@code apply} on a process pool whose queue is empty runs on an idle worker straight
 * from the caller's thread, saving two thread hand-offs per round trip.
 *
 * <p>Invariants of the process transport: every chunk sent gets exactly one outcome and the slot keeps a
 * live worker. Both sides deserialize through one {@link dev.tessera.pool.internal.AllowList}: the
 * defaults, the pool's patterns, and the allowances of each task (the package trees of its code and
 * arguments), which travel in its TASK frame. Whatever fails while a task's parts are encoded or decoded
 * (a rejected class, any non-fatal {@code Throwable}) fails that task only: in the worker as a
 * TASK_FAILED reply, after which the parent forgets the function if the worker did not keep it, so the
 * mirrored function caches stay equal. A worker that dies idle is replaced by a watcher on its exit, or,
 * if a chunk reaches the dead worker first, the failed send hands the chunk to a replacement (a worker
 * runs a task only after reading all of it). {@link dev.tessera.pool.internal.CrashReport} names the
 * cause of a crash from the exit code, the worker's stderr tail and its {@code hs_err} file.
 */
package dev.tessera.pool.internal;
