package dev.tessera.sharedmem;

/**
 * The base of the shared-memory failures a caller can act on: no room for a segment
 * ({@link SegmentSpaceException}), a stub that cannot be opened ({@link InvalidTensorRefException}), a full store
 * ({@link dev.tessera.sharedmem.store.StoreFullException}) and a file this process must not trust ({@link UntrustedFileException}). A message
 * that cannot be decoded is a {@link MalformedMessageException}, which stays an {@link IllegalArgumentException}
 * because it is bad input to {@code decode}, as with every other argument check. Immutable.
 */
public class SharedMemoryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what was wrong and what the caller can do
     */
    public SharedMemoryException(String message) {
        super(message);
    }

    /**
     * Creates the exception with its cause.
     *
     * @param message what was wrong and what the caller can do
     * @param cause the underlying failure, or null
     */
    public SharedMemoryException(String message, Throwable cause) {
        super(message, cause);
    }
}
