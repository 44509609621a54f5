package dev.tessera.sharedmem;

/**
 * Thrown when a {@link TensorRef} cannot be decoded or opened: a malformed or forged stub, a stale one
 * (its segment was released, reaped or re-created with another generation), or one whose dtype, shape or
 * offset does not fit its segment. Immutable.
 */
public final class InvalidTensorRefException extends SharedMemoryException {
    private static final long serialVersionUID = 1L;

    public InvalidTensorRefException(String message) {
        super(message);
    }

    public InvalidTensorRefException(String message, Throwable cause) {
        super(message, cause);
    }
}
