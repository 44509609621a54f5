package dev.tessera.pool;

/** A result was not ready within the caller's timeout. Immutable. The task itself may still be running. */
public final class TaskTimeoutException extends PoolException {
    private static final long serialVersionUID = 1L;

    public TaskTimeoutException(String message) {
        super(message);
    }
}
