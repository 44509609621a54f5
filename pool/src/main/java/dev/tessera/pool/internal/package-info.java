/**
 * Implementation of the pools; not API, may change without notice.
 *
 * <p>{@link dev.tessera.pool.internal.PoolCore} owns a FIFO queue of
 * {@link dev.tessera.pool.internal.Chunk}s and one {@link dev.tessera.pool.internal.WorkerSlot} per
 * worker; {@link dev.tessera.pool.internal.InlineEngine} runs chunks in the caller. A
 * {@link dev.tessera.pool.internal.ThreadSlot} runs chunks on its own thread; a
 * {@link dev.tessera.pool.internal.ProcessSlot} drives one worker JVM
 * ({@link dev.tessera.pool.internal.WorkerMain}) over a Unix domain socket; the messages, their type codes
 * and layouts, and the launch settings both sides read live in {@link dev.tessera.pool.internal.protocol}.
 * Payloads go through a
 * {@link dev.tessera.pool.internal.PayloadCodec}: {@code FastValues} for arrays of boxed primitives and
 * strings, Java serialization with an allow-list filter for other plain graphs, and sharedmem's
 * {@code TensorCodec} for graphs holding tensors ({@link dev.tessera.pool.internal.TensorAwareCodec}).
 *
 * <p>Each task function is sent to a worker once: the parent owns the function ids
 * ({@code FunctionIds}, an LRU table per worker) and tells the worker in each TASK which ids it evicted,
 * so the worker keeps exactly what the parent expects; a worker asked for an id it lacks answers
 * UNKNOWN_FUNCTION and gets the function once more.
 * A synchronous {@code apply} on a process pool whose queue is empty runs on an idle worker straight
 * from the caller's thread, saving two thread hand-offs per round trip.
 *
 * <p>Invariants of the process transport: every chunk sent gets exactly one outcome and the slot keeps a
 * live worker. Both sides deserialize through one {@link dev.tessera.pool.internal.AllowList}: the
 * defaults, the pool's patterns, and the allowances of each task (the package trees of its code and
 * arguments), which travel in its TASK frame. Whatever fails while a task's parts are encoded or decoded
 * (a rejected class, any non-fatal {@code Throwable}) fails that task only: in the worker as a
 * TASK_FAILED reply, after which the parent forgets the function if the worker did not keep it. A worker that dies idle is replaced by a watcher on its exit, or,
 * if a chunk reaches the dead worker first, the failed send hands the chunk to a replacement (a worker
 * runs a task only after reading all of it). {@link dev.tessera.pool.internal.CrashReport} names the
 * cause of a crash from the exit code, the worker's stderr tail and its {@code hs_err} file.
 */
package dev.tessera.pool.internal;
