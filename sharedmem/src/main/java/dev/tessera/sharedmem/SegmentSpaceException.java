package dev.tessera.sharedmem;

import java.nio.file.Path;

/**
 * Thrown when the segment directory's filesystem cannot hold a new segment. Immutable.
 *
 * <p>The check runs before anything is mapped (a usable-space check, then {@code posix_fallocate} reserves
 * the pages for real), so a full {@code /dev/shm} is this exception and never a SIGBUS that kills the JVM.
 */
public final class SegmentSpaceException extends SharedMemoryException {
    private static final long serialVersionUID = 1L;

    private final transient Path directory;
    /** Bytes the new segment needed, header included. */
    private final long requestedBytes;
    /** Usable bytes reported, or -1 if unknown. */
    private final long usableBytes;

    /**
     * Creates the exception; the message names the sizes and the remedies.
     *
     * @param directory the segment directory
     * @param requestedBytes bytes the new segment needs, header included
     * @param usableBytes bytes the filesystem reported usable, or -1 if unknown
     * @param cause the underlying failure, or null
     */
    public SegmentSpaceException(Path directory, long requestedBytes, long usableBytes, Throwable cause) {
        super("a segment of " + requestedBytes + " bytes does not fit in " + directory + ": "
                + (usableBytes >= 0 ? usableBytes + " bytes usable" : "usable space unknown")
                + "; free space there (./tessera shm gc removes leaked segments), make the tensor smaller, or set -D"
                + "tessera.shm.dir to a larger filesystem", cause);
        this.directory = directory;
        this.requestedBytes = requestedBytes;
        this.usableBytes = usableBytes;
    }

    /**
     * The directory the segment was to be created in. Not serialized: null after deserialization.
     *
     * @return the segment directory
     */
    public Path directory() {
        return directory;
    }

    /**
     * The size of the segment that did not fit.
     *
     * @return bytes the new segment needed, header included
     */
    public long requestedBytes() {
        return requestedBytes;
    }

    /**
     * The space the filesystem reported.
     *
     * @return usable bytes, or -1 if unknown
     */
    public long usableBytes() {
        return usableBytes;
    }
}
