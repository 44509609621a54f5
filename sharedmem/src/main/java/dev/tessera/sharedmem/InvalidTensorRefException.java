package dev.tessera.sharedmem;

/**
 * Thrown when a {@link TensorRef} cannot be decoded or opened: a malformed or forged stub, a stale one
 * (its segment was released, reaped or re-created with another generation), or one whose dtype, shape or
 * offset does not fit its segment. Immutable.
 */
public final class InvalidTensorRefException extends SharedMemoryException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what was wrong and what the caller can do
     */
    public InvalidTensorRefException(String message) {
        super(message);
    }

    /**
     * Creates the exception with its cause.
     *
     * @param message what was wrong and what the caller can do
     * @param cause the underlying failure, or null
     */
    public InvalidTensorRefException(String message, Throwable cause) {
        super(message, cause);
    }
}
