package dev.tessera.pool;

/** Base of this package's unchecked exceptions; immutable and safe to share between threads. */
public class PoolException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public PoolException(String message) {
        super(message);
    }

    public PoolException(String message, Throwable cause) {
        super(message, cause);
    }
}
