package dev.tessera.pool;

/** A result was not ready within the caller's timeout. Immutable. The task itself may still be running. */
public final class TaskTimeoutException extends PoolException {
    private static final long serialVersionUID = 1L;

    /**
     * A timeout, reported by {@link AsyncResult#get(java.time.Duration)} or a {@link dev.tessera.pool.parallel.Parallel} call.
     *
     * @param message what was not ready, after how long, and what the caller can do
     */
    public TaskTimeoutException(String message) {
        super(message);
    }
}
