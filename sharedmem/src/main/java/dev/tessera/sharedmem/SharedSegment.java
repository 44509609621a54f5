package dev.tessera.sharedmem;

import dev.tessera.sharedmem.internal.FileTrust;
import dev.tessera.sharedmem.internal.ProcessLiveness;
import dev.tessera.sharedmem.internal.SegmentDescriptor;
import dev.tessera.sharedmem.internal.SegmentFiles;
import dev.tessera.sharedmem.internal.SegmentMappings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A handle on a named shared-memory segment: thread-safe; the caller owns the handle and must
 * {@link #close()} it. Each handle holds one cross-process reference; the mapping is shared with the other
 * handles of this process on the same segment (see {@code internal.SegmentMappings}), and the views a handle
 * gives out live in an arena of its own, so closing one handle invalidates its views and no others.
 *
 * <p>A segment is a file in the segment directory ({@code /dev/shm} by default, see
 * {@link #defaultDirectory()}) that starts with the header described by {@link SegmentDescriptor} and then
 * holds 64-byte-aligned data, which may hold many tensors ({@link #tensorAt}). The last {@code close()}
 * across all processes unlinks the file, unless the segment was created persistent; segments whose owner and
 * attached processes all died are removed by {@link SegmentReaper}.
 *
 * <p>Closing is idempotent. After it, {@link #data()} and every segment obtained from it throw
 * {@link IllegalStateException}. A handle that is never closed is reported as "leaked" when it is garbage
 * collected; its reference is then released but its mapping is kept, because native views may still point
 * into it.
 */
public final class SharedSegment implements AutoCloseable {
    /** System property: set to {@code false} to skip the reaper run on first use of a directory. */
    public static final String REAP_ON_START_PROPERTY = "tessera.shm.reapOnStart";

    private static final Logger LOG = LoggerFactory.getLogger(SharedSegment.class);
    private static final Cleaner CLEANER = Cleaner.create();
    private static final Set<Path> REAPED_DIRECTORIES = ConcurrentHashMap.newKeySet();

    private final Path directory;
    private final String name;
    private final long generation;
    private final long byteSize;
    private final Lease lease;
    private final Cleaner.Cleanable cleanable;

    private SharedSegment(Path directory, String name, SegmentMappings.Mapping mapping, LastRelease lastRelease) {
        this.directory = directory.toAbsolutePath().normalize();
        this.name = name;
        MemorySegment header = mapping.segment();
        this.generation = SegmentDescriptor.getGeneration(header);
        this.byteSize = header.byteSize();
        this.lease = new Lease(this.directory.resolve(name), mapping, lastRelease,
                SegmentDescriptor.isStoreIndex(header));
        this.cleanable = CLEANER.register(this, lease);
    }

    /** What happens when a handle drops the last reference to its segment (the count is then RELEASED). */
    @FunctionalInterface
    interface LastRelease {
        /** The default: unlink the file. */
        LastRelease UNLINK = (mapping, path) -> SegmentFiles.deleteQuietly(path);

        /** Called with the still-mapped segment; must not throw. */
        void released(MemorySegment mapping, Path path);
    }

    /** The link from a store value's segment to the store that holds it (see SegmentDescriptor). */
    record StoreLink(String storeName, long storeGeneration) {}

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
     * @param name the segment name ({@code tessera-} and 32 hex digits)
     * @return a new handle the caller owns and must close
     * @throws IllegalArgumentException if {@code name} is not a segment name
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
     * @param name the segment name ({@code tessera-} and 32 hex digits)
     * @return a new handle the caller owns and must close
     * @throws IllegalArgumentException if {@code name} is not a segment name
     * @throws IllegalStateException if the file is not a published segment or its header is corrupt
     */
    public static SharedSegment open(Path directory, String name) {
        return open(directory, name, 0, false, FileTrust.fromSystemProperties());
    }

    /**
     * Opens an existing segment whose file {@code trust} admits. {@code expectedGeneration} 0 accepts any
     * generation. With {@code takeHandoff}, the handle takes over a reference that travelled in a message (see
     * {@link TensorCodec}) instead of adding one, if there is such a reference.
     */
    static SharedSegment open(Path directory, String name, long expectedGeneration, boolean takeHandoff,
            FileTrust trust) {
        Path path = directory.resolve(checkName(name));
        SegmentMappings.Mapping mapping;
        try {
            mapping = SegmentMappings.acquire(path, trust);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open segment " + path + ": " + e.getMessage(), e);
        }
        try {
            checkHeader(mapping.segment(), path, expectedGeneration);
            boolean tookHandoff = attach(mapping.segment(), path, takeHandoff);
            checkStillSameGeneration(mapping.segment(), path, expectedGeneration, tookHandoff);
            return new SharedSegment(directory, name, mapping, LastRelease.UNLINK);
        } catch (InternalError e) {
            try {
                mapping.markFaultedOrRethrow(e);
            } finally {
                SegmentMappings.release(mapping);
            }
            throw truncated(path, e);
        } catch (RuntimeException | Error e) {
            SegmentMappings.release(mapping);
            throw e;
        }
    }

    /** Opens with the process-wide trust (the system properties); for stubs. */
    static SharedSegment open(Path directory, String name, long expectedGeneration, boolean takeHandoff) {
        return open(directory, name, expectedGeneration, takeHandoff, FileTrust.fromSystemProperties());
    }

    private static IllegalStateException truncated(Path path, InternalError e) {
        return new IllegalStateException("segment " + path + " is shorter than its mapping: another process "
                + "truncated the file, so it can no longer be used (" + e.getMessage() + ")", e);
    }

    private static String checkName(String name) {
        if (!SegmentFiles.isSegmentName(name)) {
            throw new IllegalArgumentException(
                    "segment name '" + name + "' (expected " + SegmentFiles.PREFIX + " and 32 hex digits)");
        }
        return name;
    }

    private static void checkHeader(MemorySegment mapping, Path path, long expectedGeneration) {
        if (SegmentDescriptor.getLayoutVersionAcquire(mapping) != SegmentDescriptor.LAYOUT_VERSION
                || SegmentDescriptor.getMagic(mapping) != SegmentDescriptor.MAGIC) {
            throw new IllegalStateException(path + " is not a published Tessera segment (layout version "
                    + SegmentDescriptor.getLayoutVersionAcquire(mapping) + ", expected "
                    + SegmentDescriptor.LAYOUT_VERSION + ")");
        }
        long length = SegmentDescriptor.getSegmentLength(mapping);
        if (length != mapping.byteSize()
                || SegmentDescriptor.getDataOffset(mapping) != SegmentDescriptor.HEADER_LENGTH) {
            throw new IllegalStateException(path + " has a corrupt header: length " + length + ", file "
                    + mapping.byteSize() + " bytes, data offset " + SegmentDescriptor.getDataOffset(mapping)
                    + sizeNow(path, mapping.byteSize(), length));
        }
        long actual = SegmentDescriptor.getGeneration(mapping);
        if (expectedGeneration != 0 && actual != expectedGeneration) {
            throw new IllegalStateException("stale reference to " + path + ": generation " + expectedGeneration
                    + " but the segment has generation " + actual);
        }
    }

    /** Why a header may look corrupt: the file is shorter than the header says, or than when it was mapped. */
    private static String sizeNow(Path path, long mapped, long declared) {
        long now;
        try {
            now = java.nio.file.Files.size(path);
        } catch (IOException e) {
            now = mapped;
        }
        return now < mapped || now < declared ? "; the file has " + now + " bytes now: it was truncated by another "
                + "process (or is not a segment)" : "";
    }

    /** Claims an attach slot first, then a reference, so a concurrent reaper sees this process (see Reaper). */
    private static boolean attach(MemorySegment mapping, Path path, boolean takeHandoff) {
        SegmentDescriptor.attach(mapping, ProcessLiveness.selfPid(), ProcessLiveness.selfStartMillis());
        boolean took = takeHandoff && SegmentDescriptor.tryTakePendingHandoff(mapping);
        if (!took && !SegmentDescriptor.tryRetain(mapping)) {
            SegmentDescriptor.detach(mapping, ProcessLiveness.selfPid());
            throw new IllegalStateException("segment " + path + " was already released by its last holder or "
                    + "reaped; keep a handle open until every receiver has opened its own");
        }
        return took;
    }

    /**
     * A staging segment gets a new generation each time its pool reuses it, and the pool does that only when
     * it can swap the count from "only the pool holds it" to "and a message"; so a generation read after
     * retaining is the one this handle holds. A stale stub gives its reference back and fails.
     */
    private static void checkStillSameGeneration(MemorySegment header, Path path, long expected, boolean tookHandoff) {
        long actual = SegmentDescriptor.getGenerationVolatile(header);
        if (expected == 0 || actual == expected) {
            return;
        }
        if (tookHandoff) {
            SegmentDescriptor.addPendingHandoff(header);
        } else if (SegmentDescriptor.release(header)) {
            SegmentFiles.deleteQuietly(path);
        }
        SegmentDescriptor.detach(header, ProcessLiveness.selfPid());
        throw new IllegalStateException("stale reference to " + path + ": generation " + expected
                + " but the segment was reused and has generation " + actual);
    }

    /**
     * Takes back a reference that was handed off to a message which never went out (see {@link TensorCodec}):
     * if it is still pending, it is released, and the segment unlinked if that was the last reference.
     */
    static void recallHandoff(Path directory, String name, long generation) {
        Path path = directory.resolve(checkName(name));
        SegmentMappings.Mapping mapping;
        try {
            mapping = SegmentMappings.acquire(path, FileTrust.fromSystemProperties());
        } catch (IOException | UntrustedFileException e) {
            return; // gone already, or not ours to touch
        }
        try {
            MemorySegment header = mapping.segment();
            if (SegmentDescriptor.getGenerationVolatile(header) == generation
                    && SegmentDescriptor.tryTakePendingHandoff(header) && SegmentDescriptor.release(header)) {
                SegmentFiles.deleteQuietly(path);
            }
        } catch (InternalError e) {
            mapping.markFaultedOrRethrow(e); // released once, below, either way
        } finally {
            SegmentMappings.release(mapping);
        }
    }

    /** The header in the shared mapping, valid until this handle is closed; for the staging pool. */
    MemorySegment header() {
        checkOpen();
        return lease.header;
    }

    static SharedSegment create(Path directory, long dataBytes, boolean persistent) {
        return create(directory, dataBytes, persistent, null);
    }

    /** A new segment; with a {@code link}, it is a value held by that store (see {@link SharedStore}). */
    static SharedSegment create(Path directory, long dataBytes, boolean persistent, StoreLink link) {
        String name = SegmentFiles.newName();
        createFile(directory, name, dataBytes);
        int flags = persistent ? SegmentDescriptor.FLAG_PERSISTENT : 0;
        return mapNew(directory, name, flags, true, mapping -> {
            if (link != null) {
                SegmentDescriptor.putStoreLink(mapping, link.storeName(), link.storeGeneration());
            }
        }, LastRelease.UNLINK);
    }

    /**
     * Creates a store index named {@code fileName}, runs {@code initData} on its data region before the header
     * is published, and returns the creator's handle.
     *
     * @throws java.nio.file.FileAlreadyExistsException (as the cause of an UncheckedIOException) if it exists
     */
    static SharedSegment createStoreIndex(Path directory, String fileName, long dataBytes, boolean persistent,
            Consumer<MemorySegment> initData, LastRelease lastRelease) {
        createFile(directory, fileName, dataBytes);
        int flags = SegmentDescriptor.FLAG_STORE_INDEX | (persistent ? SegmentDescriptor.FLAG_PERSISTENT : 0);
        return mapNew(directory, fileName, flags, false,
                mapping -> initData.accept(mapping.asSlice(SegmentDescriptor.HEADER_LENGTH)), lastRelease);
    }

    private static void createFile(Path directory, String name, long dataBytes) {
        long length = SegmentDescriptor.segmentLength(dataBytes);
        Path path = directory.resolve(name);
        try {
            SegmentFiles.ensureDirectory(directory);
            reapOnce(directory);
            SegmentFiles.createReserved(path, length);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create segment " + path + ": " + e.getMessage(), e);
        }
    }

    private static SharedSegment mapNew(Path directory, String name, int flags, boolean cached,
            Consumer<MemorySegment> beforePublish, LastRelease lastRelease) {
        Path path = directory.resolve(name);
        SegmentMappings.Mapping mapping;
        try {
            mapping = cached ? SegmentMappings.acquire(path, FileTrust.OWN)
                    : SegmentMappings.acquirePrivate(path, FileTrust.OWN); // the file this process just created
        } catch (IOException e) {
            SegmentFiles.deleteQuietly(path);
            throw new UncheckedIOException("cannot map segment " + path + ": " + e.getMessage(), e);
        }
        try {
            MemorySegment header = mapping.segment();
            SegmentDescriptor.attach(header, ProcessLiveness.selfPid(), ProcessLiveness.selfStartMillis());
            beforePublish.accept(header);
            SegmentDescriptor.initialize(header, flags, header.byteSize(), SegmentFiles.newGeneration(),
                    ProcessLiveness.selfPid(), ProcessLiveness.selfStartMillis(), System.currentTimeMillis());
            return new SharedSegment(directory, name, mapping, lastRelease);
        } catch (RuntimeException | Error e) {
            SegmentMappings.release(mapping);
            SegmentFiles.deleteQuietly(path);
            throw e;
        }
    }

    /** The store index at {@code fileName} cannot be opened yet: it is being created or being removed. */
    static final class IndexBusyException extends Exception {
        private static final long serialVersionUID = 1L;

        IndexBusyException(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Opens an existing store index and retains it. Returns null if there is no such file.
     *
     * @throws IndexBusyException if its creator has not published it yet, or its last holder released it
     *     and the file is about to go (a released file nobody unlinked yet is unlinked here)
     */
    static SharedSegment openStoreIndex(Path directory, String fileName, LastRelease lastRelease, FileTrust trust)
            throws IndexBusyException {
        Path path = directory.resolve(fileName);
        SegmentMappings.Mapping private_;
        try {
            try (SegmentFiles.CheckedFile f = SegmentFiles.openChecked(path, trust)) { // a squatter: refused at once
                if (f.status().size() < SegmentDescriptor.HEADER_LENGTH) {
                    throw new IndexBusyException(path + " is being created");
                }
            }
            private_ = SegmentMappings.acquirePrivate(path, trust);
        } catch (java.nio.file.NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open store index " + path + ": " + e.getMessage(), e);
        }
        try {
            MemorySegment mapping = private_.segment();
            if (SegmentDescriptor.getLayoutVersionAcquire(mapping) == 0) {
                throw new IndexBusyException(path + " is being created");
            }
            checkHeader(mapping, path, 0);
            if (!SegmentDescriptor.isStoreIndex(mapping)) {
                throw new IllegalStateException(path + " is a segment but not a store index");
            }
            SegmentDescriptor.attach(mapping, ProcessLiveness.selfPid(), ProcessLiveness.selfStartMillis());
            if (!SegmentDescriptor.tryRetain(mapping)) {
                SegmentDescriptor.detach(mapping, ProcessLiveness.selfPid());
                if (dev.tessera.sharedmem.internal.StoreIndex.claimUnlink(
                        mapping.asSlice(SegmentDescriptor.HEADER_LENGTH))) {
                    SegmentFiles.deleteQuietly(path);
                }
                throw new IndexBusyException(path + " was released by its last holder and is being removed");
            }
            return new SharedSegment(directory, fileName, private_, lastRelease);
        } catch (InternalError e) {
            try {
                private_.markFaultedOrRethrow(e);
            } finally {
                SegmentMappings.release(private_);
            }
            throw truncated(path, e);
        } catch (IndexBusyException | RuntimeException | Error e) {
            SegmentMappings.release(private_);
            throw e;
        }
    }

    /**
     * Drops one reference to a segment that no handle of this process holds (a reference a store index
     * owns): maps its header, releases, and unlinks the file if that was the last reference. A segment that
     * is already gone, or has another generation, is left alone.
     */
    static void releaseUnheld(Path directory, String name, long generation, FileTrust trust) {
        Path path = directory.resolve(checkName(name));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment header = SegmentFiles.mapRange(path, java.nio.channels.FileChannel.MapMode.READ_WRITE, 0,
                    SegmentDescriptor.HEADER_LENGTH, arena, trust);
            if (SegmentDescriptor.getLayoutVersionAcquire(header) == SegmentDescriptor.LAYOUT_VERSION
                    && SegmentDescriptor.getGeneration(header) == generation && SegmentDescriptor.release(header)) {
                SegmentFiles.deleteQuietly(path);
            }
        } catch (java.nio.file.NoSuchFileException e) {
            // released and unlinked already, or reaped
        } catch (IOException | UntrustedFileException | InternalError e) { // InternalError: truncated meanwhile
            if (e instanceof InternalError ie && !SegmentMappings.isMappingFault(ie)) {
                throw ie;
            }
            LOG.warn("releasing a store reference to {} failed: {}; the reaper will collect it", path, e.toString());
        }
    }

    /** Runs the reaper once per directory and JVM, before the first segment is created there. */
    private static void reapOnce(Path directory) {
        if (!Boolean.parseBoolean(System.getProperty(REAP_ON_START_PROPERTY, "true"))
                || !REAPED_DIRECTORIES.add(directory)) {
            return;
        }
        try {
            SegmentReaper.reap(directory).forEach(info -> LOG.info("reaped leaked segment {}", info));
        } catch (RuntimeException e) {
            LOG.warn("reaper run in {} failed: {}", directory, e.toString());
        }
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
     * The segment's file name.
     *
     * @return {@code tessera-} and 32 hex digits
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
     * @return {@link #directory()} resolved against {@link #name()}
     */
    public Path path() {
        return directory.resolve(name);
    }

    /**
     * A random non-zero number fixed at creation; a {@link TensorRef} must carry the same one.
     *
     * @return the generation from the segment header
     */
    public long generation() {
        return generation;
    }

    /**
     * Whether the segment survives its last close (see {@link Builder#optPersistent}).
     *
     * @return true if the segment was created persistent
     */
    public boolean isPersistent() {
        return SegmentDescriptor.isPersistent(lease.header);
    }

    /**
     * Bytes of the data region (after the header), a multiple of 64.
     *
     * @return the data size in bytes
     */
    public long dataSize() {
        return byteSize - SegmentDescriptor.HEADER_LENGTH;
    }

    /**
     * The data region; invalid (accesses throw {@link IllegalStateException}) once this handle is closed.
     *
     * @return a slice of the mapping, {@link #dataSize()} bytes long
     */
    public MemorySegment data() {
        return lease.view().asSlice(SegmentDescriptor.HEADER_LENGTH);
    }

    /**
     * The cross-process reference count, read with volatile semantics; -1 once the segment is dead.
     *
     * @return the number of references across all processes, or -1
     * @throws IllegalStateException if this handle is closed
     */
    public long refCountVolatile() {
        checkOpen();
        return SegmentDescriptor.getRefCountVolatile(lease.header);
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
     * @throws IllegalStateException if this handle is closed
     */
    public SharedTensor tensorAt(long offset, DType dtype, long... shape) {
        checkOpen();
        SharedSegment handle = open(directory, name, generation, false);
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
            SegmentFiles.FileStatus checked = lease.mapping.status();
            FileTrust same = new FileTrust(java.util.Set.of(Math.max(0, checked.ownerUid())), (checked.mode() & 077) != 0);
            return SegmentFiles.mapPrivate(path(), SegmentDescriptor.HEADER_LENGTH + offset, length, lease.viewArena(),
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
        return !lease.closing.get();
    }

    void checkOpen() {
        if (!isOpen()) {
            throw new IllegalStateException("segment handle " + name + " is closed");
        }
    }

    /** Releases this handle's reference and mapping; unlinks the segment if it was the last reference. */
    @Override
    public void close() {
        if (lease.closing.compareAndSet(false, true)) {
            lease.explicit = true;
            cleanable.clean();
        }
    }

    /**
     * Closes this handle but lets its reference travel in a message: the reference count is left as is and
     * counted as a pending handoff, which the receiver takes over with {@code open(..., takeHandoff=true)}.
     */
    void closeHandingOff() {
        if (lease.closing.compareAndSet(false, true)) {
            lease.explicit = true;
            lease.handoff = true;
            cleanable.clean();
        }
    }

    /**
     * Closes this handle but leaves its reference counted, for a holder that is not a process: a store index
     * entry now owns it, and whoever removes the entry releases it ({@link #releaseUnheld}).
     */
    void closeKeepingReference() {
        if (lease.closing.compareAndSet(false, true)) {
            lease.explicit = true;
            lease.keepReference = true;
            cleanable.clean();
        }
    }

    /** The whole mapping, header included, in this handle's arena; for the store, which keeps its index there. */
    MemorySegment mapping() {
        return lease.view();
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
         * Creates the segment; throws {@link SegmentSpaceException} if it does not fit.
         *
         * @return a new zero-filled segment; the caller owns the handle and must close it
         * @throws IllegalStateException if {@link #setSize} was not called
         */
        public SharedSegment build() {
            if (size < 0) {
                throw new IllegalStateException("setSize(bytes) is required");
            }
            return create(directory != null ? directory : defaultDirectory(), size, persistent);
        }
    }

    /**
     * What a handle must release; runs once, from close() or, for a leaked handle, from the Cleaner. Holds the
     * shared mapping (for the header) and, once a view was asked for, the handle's own arena that views live in.
     */
    private static final class Lease implements Runnable {
        final AtomicBoolean closing = new AtomicBoolean();
        final Path path;
        final SegmentMappings.Mapping mapping;
        final MemorySegment header;
        final LastRelease lastRelease;
        final boolean reclaimFromDead;
        volatile boolean explicit;
        volatile boolean handoff;
        volatile boolean keepReference;
        private Arena views; // guarded by this; null until the first view, and again once closed
        private MemorySegment view; // guarded by this
        private boolean viewsClosed; // guarded by this

        Lease(Path path, SegmentMappings.Mapping mapping, LastRelease lastRelease, boolean reclaimFromDead) {
            this.path = path;
            this.mapping = mapping;
            this.header = mapping.segment();
            this.lastRelease = lastRelease;
            this.reclaimFromDead = reclaimFromDead;
        }

        /** The whole segment in this handle's arena; throws once the handle is closed. */
        synchronized MemorySegment view() {
            viewArena();
            return view;
        }

        @SuppressWarnings("restricted") // reinterpret: the view spans exactly this handle's own mapping
        synchronized Arena viewArena() {
            if (viewsClosed || closing.get()) {
                throw new IllegalStateException("segment handle " + path.getFileName() + " is closed");
            }
            if (views == null) {
                views = Arena.ofShared();
                view = header.reinterpret(views, null);
            }
            return views;
        }

        private synchronized Arena takeViews() {
            viewsClosed = true;
            Arena a = views;
            views = null;
            view = null;
            return a;
        }

        @Override
        public void run() {
            boolean leaked = !explicit;
            if (leaked) {
                closing.set(true);
                LOG.warn("leaked: a handle on shared segment {} was never closed; releasing its reference now "
                        + "and keeping its mapping until the JVM exits", path);
            }
            try {
                releaseReference();
            } catch (InternalError e) { // a fault delivered after the access it came from; see releaseReference
                mapping.markFaultedOrRethrow(e);
            }
            if (!leaked) {
                Arena a = takeViews();
                try {
                    if (a != null) {
                        a.close();
                    }
                } catch (RuntimeException e) {
                    LOG.warn("closing the views of {} failed: {}", path, e.toString());
                }
                SegmentMappings.release(mapping);
            }
        }

        /**
         * Gives back this handle's slot and reference. An owner that was not the last holder then discounts
         * holders that died (see {@link SegmentDescriptor#releaseDeadHolders}), so a killed reader does not pin
         * the segment while the owner lives. A file that another process truncated faults here: that is logged,
         * the mapping is marked faulted, and closing goes on.
         */
        private void releaseReference() {
            if (mapping.faulted()) {
                LOG.warn("not releasing {}: its file was truncated by another process; the reaper removes it", path);
                return;
            }
            try {
                if (handoff) {
                    SegmentDescriptor.addPendingHandoff(header);
                }
                SegmentDescriptor.detach(header, ProcessLiveness.selfPid());
                if (!handoff && !keepReference && (SegmentDescriptor.release(header)
                        || (reclaimFromDead && SegmentDescriptor.releaseIfHeldOnlyByDead(header))
                        || (ownedByThisProcess() && SegmentDescriptor.releaseDeadHolders(header)))) {
                    lastRelease.released(header, path);
                }
            } catch (RuntimeException e) {
                LOG.warn("releasing {} failed: {}", path, e.toString());
            } catch (InternalError e) {
                mapping.markFaultedOrRethrow(e);
            }
        }

        private boolean ownedByThisProcess() {
            return SegmentDescriptor.getOwnerPid(header) == ProcessLiveness.selfPid()
                    && SegmentDescriptor.getOwnerStartMillis(header) == ProcessLiveness.selfStartMillis();
        }
    }
}
