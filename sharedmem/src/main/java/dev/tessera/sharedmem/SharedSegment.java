package dev.tessera.sharedmem;

import dev.tessera.sharedmem.internal.FileTrust;
import dev.tessera.sharedmem.internal.NamedSegments;
import dev.tessera.sharedmem.internal.SegmentDescriptor;
import dev.tessera.sharedmem.internal.SegmentFiles;
import dev.tessera.sharedmem.internal.SegmentLease;
import dev.tessera.sharedmem.internal.SegmentReference;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A handle on a named shared-memory segment: thread-safe; the caller owns the handle and must
 * {@link #close()} it. Each handle holds one cross-process reference; the mapping is shared with the other
 * handles of this process on the same segment (see {@code internal.SegmentMappings}), and the views a handle
 * gives out live in an arena of its own, so closing one handle invalidates its views and no others.
 *
 * <p>A segment is a file in the segment directory ({@code /dev/shm} by default, see
 * {@link #defaultDirectory()}) that starts with the header described by {@code internal.SegmentDescriptor} and then
 * holds 64-byte-aligned data, which may hold many tensors ({@link #tensorAt}). The last {@code close()}
 * across all processes unlinks the file, unless the segment was created persistent; segments whose owner and
 * attached processes all died are removed by {@link SegmentReaper}.
 *
 * <p>Closing is idempotent. After it, {@link #data()} and every segment obtained from it throw
 * {@link IllegalStateException}. A handle that is never closed is reported as "leaked" when it is garbage
 * collected; its reference is then released but its mapping is kept, because native views may still point
 * into it.
 *
 * <p>Named segments: a segment built with {@link Builder#optName} has a name the user chose ({@code jobs}), by
 * which any process of this user (or one that trusts this user, see the README) opens it with
 * {@link #open(String)}. It lives while any handle on it is open, in any process, and is reaped once every
 * process that held it died. It holds raw data only: {@link #tensorAt} refuses it, because stubs name segments by
 * their random names.
 *
 * <p>The machinery (the header checks, the reference this handle is a named owner of, the mapping and the
 * views' arena) is an {@code internal.SegmentLease}; this class is its public face.
 */
public final class SharedSegment implements AutoCloseable {
    /** System property: set to {@code false} to skip the reaper run on first use of a directory. */
    public static final String REAP_ON_START_PROPERTY = SegmentLease.REAP_ON_START_PROPERTY;

    /** How a handle that a user opened or built names itself as a reference owner. */
    static final String USER_HANDLE = "SharedSegment handle";

    private final Path directory;
    private final String name;
    private final SegmentLease lease;
    private final long dataOffset; // of the user's data in the mapping: after the header (and a named prefix)
    private final boolean named;

    SharedSegment(SegmentLease lease) {
        this(lease, null);
    }

    private SharedSegment(SegmentLease lease, String chosenName) {
        this.lease = lease;
        this.directory = lease.path().getParent();
        this.named = chosenName != null;
        this.name = named ? chosenName : lease.path().getFileName().toString();
        this.dataOffset = SegmentDescriptor.HEADER_LENGTH + (named ? NamedSegments.PREFIX_BYTES : 0);
    }

    /**
     * A builder for a new segment.
     *
     * @return a new builder, not thread-safe; {@link Builder#setSize} is required
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Opens an existing segment in the {@linkplain #defaultDirectory() default directory}.
     *
     * @param name the segment's {@link #name()}: {@code tessera-} and 32 hex digits, or the name it was built with
     *     ({@link Builder#optName})
     * @return a new handle the caller owns and must close
     * @throws IllegalArgumentException if {@code name} is neither kind of segment name
     * @throws UncheckedIOException if the segment does not exist or cannot be mapped
     * @throws UntrustedFileException if its file belongs to another user or has group/other permission bits
     * @throws IllegalStateException if the file is not a published segment or its header is corrupt
     */
    public static SharedSegment open(String name) {
        return open(defaultDirectory(), name);
    }

    /**
     * Opens an existing segment; throws {@link UncheckedIOException} if it does not exist, and
     * {@link UntrustedFileException} if its file belongs to another user or has group/other permission bits
     * (see "Ownership and permissions" in the README: {@code -Dtessera.shm.trustedOwners},
     * {@code -Dtessera.shm.allowSharedModes}).
     *
     * @param directory the directory holding the segment file
     * @param name the segment's {@link #name()}: {@code tessera-} and 32 hex digits, or the name it was built with
     *     ({@link Builder#optName}), which is looked up in this user's namespace, then in trusted users'
     * @return a new handle the caller owns and must close
     * @throws IllegalArgumentException if {@code name} is neither kind of segment name
     * @throws IllegalStateException if the file is not a published segment or its header is corrupt, or a named
     *     segment stays busy (being created or removed) for 2 s
     */
    public static SharedSegment open(Path directory, String name) {
        if (!SegmentFiles.isSegmentName(name) && NamedSegments.isName(name)) {
            Path dir = directory.toAbsolutePath().normalize();
            return new SharedSegment(NamedSegments.open(dir, name, FileTrust.fromSystemProperties(), USER_HANDLE),
                    name);
        }
        return open(directory, name, 0, false, FileTrust.fromSystemProperties(), USER_HANDLE);
    }

    /**
     * Opens an existing segment whose file {@code trust} admits, as a reference owner named {@code owner}.
     * {@code expectedGeneration} 0 accepts any generation. With {@code takeHandoff}, the handle takes over a
     * reference that travelled in a message (see {@link TensorCodec}) instead of adding one, if there is one.
     */
    static SharedSegment open(Path directory, String name, long expectedGeneration, boolean takeHandoff,
            FileTrust trust, String owner) {
        return new SharedSegment(SegmentLease.open(directory, checkName(name), expectedGeneration, takeHandoff, trust,
                owner));
    }

    private static String checkName(String name) {
        if (!SegmentFiles.isSegmentName(name)) {
            throw new IllegalArgumentException("segment name '" + name + "' (expected " + SegmentFiles.PREFIX
                    + " and 32 hex digits, or a name given to optName: 1.." + NamedSegments.MAX_NAME_LENGTH
                    + " characters of A-Z a-z 0-9 . _ -, starting with a letter or digit, not with tessera-)");
        }
        return name;
    }

    /** A new segment whose creator's handle is a reference owner named {@code owner}. */
    static SharedSegment create(Path directory, long dataBytes, boolean persistent, String owner) {
        return new SharedSegment(SegmentLease.create(directory, dataBytes, persistent, null, owner));
    }

    /** The machinery of this handle: its reference (and owner name), mapping and views. */
    SegmentLease lease() {
        return lease;
    }

    /**
     * Who holds references to this segment now, for tests and diagnostics: the owners of this process by name
     * (for example {@code "SharedSegment handle"}, {@code "SharedTensor"}, {@code "StagingPool"}), then
     * {@code "a message in flight"} once per reference travelling in a message, then one line counting the
     * references held by other processes and store entries.
     */
    List<String> holders() {
        checkOpen();
        return lease.reference().holders();
    }

    /**
     * The segment directory: the {@code tessera.shm.dir} system property if set, else {@code /dev/shm}, else
     * {@code java.io.tmpdir/tessera-shm} (for systems without {@code /dev/shm}).
     *
     * @return the default segment directory, an absolute path
     */
    public static Path defaultDirectory() {
        return SegmentFiles.defaultDirectory();
    }

    /**
     * The segment's name, which {@link #open(String)} takes: its file name, or for a named segment the name it
     * was built with (its file is then {@code tessera-named-UID-NAME}, see {@link #path()}).
     *
     * @return {@code tessera-} and 32 hex digits, or the name given to {@link Builder#optName}
     */
    public String name() {
        return name;
    }

    /**
     * The directory holding the segment file.
     *
     * @return the directory
     */
    public Path directory() {
        return directory;
    }

    /**
     * The segment file.
     *
     * @return {@link #directory()} resolved against the file name
     */
    public Path path() {
        return lease.path();
    }

    /**
     * A random non-zero number fixed at creation; a {@link TensorRef} must carry the same one.
     *
     * @return the generation from the segment header
     */
    public long generation() {
        return lease.generation();
    }

    /**
     * Whether the segment survives its last close (see {@link Builder#optPersistent}).
     *
     * @return true if the segment was created persistent
     */
    public boolean isPersistent() {
        return lease.isPersistent();
    }

    /**
     * Bytes of the data region (after the header), a multiple of 64.
     *
     * @return the data size in bytes
     */
    public long dataSize() {
        return lease.byteSize() - dataOffset;
    }

    /**
     * The data region; invalid (accesses throw {@link IllegalStateException}) once this handle is closed.
     *
     * @return a slice of the mapping, {@link #dataSize()} bytes long
     */
    public MemorySegment data() {
        return lease.view().asSlice(dataOffset);
    }

    /**
     * The cross-process reference count, read with volatile semantics; -1 once the segment is dead.
     *
     * @return the number of references across all processes, or -1
     * @throws IllegalStateException if this handle is closed
     */
    public long refCountVolatile() {
        return SegmentDescriptor.getRefCountVolatile(lease.header());
    }

    /**
     * A tensor stored in this segment at {@code offset} bytes into the data region (a multiple of 64). The
     * tensor holds its own handle (and mapping), so it stays valid after this handle is closed.
     *
     * @param offset the byte offset into the data region, a non-negative multiple of 64
     * @param dtype the element type
     * @param shape the dimensions, row-major
     * @return a new tensor the caller owns and must close
     * @throws IllegalArgumentException if the tensor does not fit the data region at {@code offset}
     * @throws IllegalStateException if this handle is closed, or the segment is named
     */
    public SharedTensor tensorAt(long offset, DType dtype, long... shape) {
        checkOpen();
        if (named) {
            throw new IllegalStateException("segment '" + name + "' is named, and tensors live in unnamed segments "
                    + "(stubs name a segment by its random name): create the tensor with SharedTensor, or read this "
                    + "segment's data() directly");
        }
        SharedSegment handle = open(directory, name, generation(), false, FileTrust.fromSystemProperties(),
                SharedTensor.OWNER);
        try {
            return SharedTensor.wrap(handle, offset, dtype, shape, false);
        } catch (RuntimeException e) {
            handle.close();
            throw e;
        }
    }

    /** Maps {@code length} bytes at {@code offset} of the data region privately: writes stay in this process. */
    MemorySegment mapDataPrivately(long offset, long length) {
        checkOpen();
        try {
            // the file this handle mapped already passed the opener's check: admit its owner and mode again
            SegmentFiles.FileStatus checked = lease.status();
            FileTrust same = new FileTrust(java.util.Set.of(Math.max(0, checked.ownerUid())), (checked.mode() & 077) != 0);
            return SegmentFiles.mapPrivate(path(), dataOffset + offset, length, lease.viewArena(),
                    same);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot map " + path() + " privately: " + e.getMessage(), e);
        }
    }

    /**
     * Whether {@link #close()} has not been called yet.
     *
     * @return true until this handle is closed
     */
    public boolean isOpen() {
        return lease.isOpen();
    }

    void checkOpen() {
        lease.checkOpen();
    }

    /** Releases this handle's reference and mapping; unlinks the segment if it was the last reference. */
    @Override
    public void close() {
        lease.close();
    }

    /**
     * Closes this handle but lets its reference travel in a message: it is handed to
     * {@code ReferenceOwner.IN_FLIGHT}, which the receiver takes over with {@code open(..., takeHandoff=true)}.
     */
    void closeHandingOff() {
        lease.closeTransferring(dev.tessera.sharedmem.internal.ReferenceOwner.IN_FLIGHT);
    }

    /**
     * Takes back a reference that was handed off to a message which never went out (see {@link TensorCodec}):
     * if it is still pending, it is released, and the segment unlinked if that was the last reference.
     */
    static void recallHandoff(Path directory, String name, long generation) {
        SegmentReference.releaseUnheld(directory.resolve(checkName(name)), generation,
                dev.tessera.sharedmem.internal.ReferenceOwner.IN_FLIGHT, FileTrust.fromSystemProperties());
    }

    @Override
    public String toString() {
        return "SharedSegment[" + path() + ", " + dataSize() + " data bytes" + (isOpen() ? "" : ", closed") + "]";
    }

    /**
     * Options for {@link SharedSegment#builder()}. Not thread-safe; the caller owns the segment it builds.
     */
    public static final class Builder {
        private long size = -1;
        private Path directory;
        private boolean persistent;
        private String name;

        private Builder() {}

        /**
         * Bytes of data the segment must hold (rounded up to a multiple of 64).
         *
         * Required.
         *
         * @param bytes the data size in bytes, header excluded; 0 is allowed
         * @return this builder
         * @throws IllegalArgumentException if {@code bytes} is negative
         */
        public Builder setSize(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("size=" + bytes + " (expected >= 0)");
            }
            this.size = bytes;
            return this;
        }

        /**
         * The directory to create the segment in; defaults to {@link SharedSegment#defaultDirectory()}.
         *
         * @param dir the directory; made absolute and normalised
         * @return this builder
         */
        public Builder optDirectory(Path dir) {
            this.directory = Objects.requireNonNull(dir, "directory").toAbsolutePath().normalize();
            return this;
        }

        /**
         * A persistent segment survives its last close; the reaper removes it once its owner has died.
         *
         * Defaults to false.
         *
         * @param persistent true to keep the segment after its last close
         * @return this builder
         */
        public Builder optPersistent(boolean persistent) {
            this.persistent = persistent;
            return this;
        }

        /**
         * A name of the caller's choosing, by which any process of this user opens the segment with
         * {@link SharedSegment#open(String)}; default none (a random {@code tessera-} name that cannot be guessed).
         * Names are per user: the file is {@code tessera-named-UID-NAME}. A named segment lives while a handle on it
         * is open in any process, and {@link SharedSegment#tensorAt} refuses it (see the class comment).
         *
         * @param name 1 to 32 characters of {@code A-Z a-z 0-9 . _ -}, starting with a letter or digit, not
         *     with {@code tessera-}
         * @return this builder
         * @throws IllegalArgumentException if {@code name} breaks that rule; the message names it
         */
        public Builder optName(String name) {
            this.name = NamedSegments.checkName(name);
            return this;
        }

        /**
         * Creates the segment; throws {@link SegmentSpaceException} if it does not fit.
         *
         * @return a new zero-filled segment; the caller owns the handle and must close it
         * @throws IllegalStateException if {@link #setSize} was not called, or a segment of the {@link #optName}
         *     name exists (the message says what holds the name)
         */
        public SharedSegment build() {
            if (size < 0) {
                throw new IllegalStateException("setSize(bytes) is required");
            }
            Path dir = directory != null ? directory : defaultDirectory();
            if (name != null) {
                return new SharedSegment(NamedSegments.create(dir, name, size, persistent, USER_HANDLE), name);
            }
            return create(dir, size, persistent, USER_HANDLE);
        }
    }

}
