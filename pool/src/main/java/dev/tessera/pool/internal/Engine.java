package dev.tessera.pool.internal;

/** Runs chunks: inline in the caller ({@link InlineEngine}) or on worker slots ({@link PoolCore}). */
public interface Engine {
    /** Queues or runs the chunk; throws {@link IllegalStateException} once the engine is closed. */
    void submit(Chunk chunk);

    /**
     * Runs the chunk in the calling thread if a worker is idle and nothing is queued; returns false
     * (and leaves the chunk untouched) otherwise, and the caller then {@link #submit}s it.
     */
    default boolean tryRunInCaller(Chunk chunk) {
        return false;
    }

    /** Number of workers that run chunks concurrently. */
    int workers();

    /** Whether {@link #submit} runs the chunk before returning. */
    boolean inline();

    String name();

    /** Stops taking work, lets queued chunks finish, and waits for the workers to exit. Idempotent. */
    void close();

    /** Stops now: queued and running chunks fail with a cancellation; waits for workers to exit. Idempotent. */
    void terminate();

    boolean isOpen();

    /** Waits until every worker has exited; only valid after close or terminate. */
    void join();
}
