package dev.tessera.pool;

/** Base of this package's unchecked exceptions; immutable and safe to share between threads. */
public class PoolException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * An exception without a cause.
     *
     * @param message what happened and what the caller can do about it
     */
    public PoolException(String message) {
        super(message);
    }

    /**
     * An exception caused by {@code cause}.
     *
     * @param message what happened and what the caller can do about it
     * @param cause the underlying failure, or null
     */
    public PoolException(String message, Throwable cause) {
        super(message, cause);
    }
}
