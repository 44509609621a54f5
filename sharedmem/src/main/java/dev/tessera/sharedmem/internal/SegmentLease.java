package dev.tessera.sharedmem.internal;

import dev.tessera.sharedmem.SegmentReaper;
import dev.tessera.sharedmem.UntrustedFileException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One attached reference to a segment plus the memory it maps: thread-safe; the caller owns the lease and must
 * {@link #close()} it (or {@linkplain #closeTransferring hand its reference on}). This is the whole of a handle's
 * machinery; {@code SharedSegment} is the public face of one, and other layers (the store) hold leases directly.
 *
 * <p>Each lease is a named {@link ReferenceOwner} ({@code ATTACHED}) of the {@link SegmentReference} of its
 * mapping; the mapping is shared with the other leases of this process on the same segment (see
 * {@link SegmentMappings}), and the views a lease gives out live in an arena of its own, so closing one lease
 * invalidates its views and no others. Closing is idempotent (a compare-and-swap); a lease that is never closed
 * is reported as "leaked" by a {@link Cleaner} when it is garbage collected: its reference is then released but
 * its mapping is kept, because native views may still point into it.
 *
 * <p>Creation: the file is created with its pages reserved, mapped, attached, the header written and the layout
 * version published last; the creator holds the first reference. Opening: the header is checked, then the
 * lease attaches and takes a reference (or takes over one in flight), then re-reads the generation (see
 * {@link #open}).
 */
public final class SegmentLease implements AutoCloseable {
    /** System property: set to {@code false} to skip the reaper run on first use of a directory. */
    public static final String REAP_ON_START_PROPERTY = "tessera.shm.reapOnStart";

    private static final Logger LOG = LoggerFactory.getLogger(SegmentLease.class);
    private static final Cleaner CLEANER = Cleaner.create();
    private static final Set<Path> REAPED_DIRECTORIES = ConcurrentHashMap.newKeySet();

    private final Path path;
    private final long generation;
    private final long byteSize;
    private final State state;
    private final Cleaner.Cleanable cleanable;

    private SegmentLease(Path path, SegmentMappings.Mapping mapping, SegmentReference reference,
            ReferenceOwner owner) {
        this.path = path;
        MemorySegment header = mapping.segment();
        this.generation = SegmentDescriptor.getGeneration(header);
        this.byteSize = header.byteSize();
        this.state = new State(path, mapping, reference, owner);
        this.cleanable = CLEANER.register(this, state);
    }

    /** A segment that cannot be opened yet: it is being created, or its last holder released it. */
    public static final class BusyException extends Exception {
        private static final long serialVersionUID = 1L;

        public BusyException(String message) {
            super(message, null, false, false);
        }
    }

    // ------------------------------------------------------------------------------------------ opening

    /**
     * Opens the published segment at {@code directory/name} (a cached mapping) whose file {@code trust} admits.
     * {@code expectedGeneration} 0 accepts any generation. With {@code takeInFlight}, the lease takes over a
     * reference that travelled in a message instead of adding one, if there is such a reference.
     *
     * @throws UncheckedIOException if the file does not exist or cannot be mapped
     * @throws IllegalStateException if it is not a published segment, its header is corrupt, its generation is
     *     not the expected one, or it was released already
     */
    public static SegmentLease open(Path directory, String name, long expectedGeneration, boolean takeInFlight,
            FileTrust trust, String ownerName) {
        Path path = directory.toAbsolutePath().normalize().resolve(name);
        SegmentMappings.Mapping mapping;
        try {
            mapping = SegmentMappings.acquire(path, trust);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open segment " + path + ": " + e.getMessage(), e);
        }
        try {
            checkHeader(mapping.segment(), path, expectedGeneration);
            SegmentReference reference = mapping.reference(SegmentReference.LastRelease.UNLINK,
                    SegmentDescriptor.isHandlesOnly(mapping.segment()));
            ReferenceOwner owner = ReferenceOwner.attached(ownerName);
            boolean took = takeInFlight ? reference.reserveTakingInFlight(owner) : reserve(reference, owner);
            checkStillSameGeneration(reference, owner, expectedGeneration, took);
            return new SegmentLease(path, mapping, reference, owner);
        } catch (InternalError e) {
            throw truncated(mapping, path, e);
        } catch (RuntimeException | Error e) {
            SegmentMappings.release(mapping);
            throw e;
        }
    }

    private static boolean reserve(SegmentReference reference, ReferenceOwner owner) {
        reference.reserve(owner);
        return false;
    }

    /**
     * Opens a published segment of {@code kind} through a mapping of its own (for files whose names are reused,
     * which the mapping cache must not serve), with its own {@code lastRelease}. Returns null if there is no such
     * file.
     *
     * @throws BusyException if its creator has not published it yet, or its last holder released it and the
     *     file is about to go ({@code unlinkReleased} decides who unlinks a released file nobody unlinked yet)
     * @throws UntrustedFileException if the file is refused by {@code trust}
     * @throws IllegalStateException if it is a segment of another kind, or its header is corrupt
     */
    public static SegmentLease openPrivate(Path directory, String fileName, int kind,
            SegmentReference.LastRelease lastRelease, java.util.function.Predicate<MemorySegment> unlinkReleased,
            FileTrust trust, String ownerName) throws BusyException {
        Path path = directory.resolve(fileName);
        SegmentMappings.Mapping mapping = mapPrivately(path, trust);
        if (mapping == null) {
            return null;
        }
        try {
            MemorySegment header = mapping.segment();
            if (SegmentDescriptor.getLayoutVersionAcquire(header) == 0) {
                throw new BusyException(path + " is being created");
            }
            checkHeader(header, path, 0);
            if (SegmentDescriptor.getKind(header) != kind) {
                throw new IllegalStateException(path + " is a segment of kind " + SegmentDescriptor.getKind(header)
                        + ", not of kind " + kind);
            }
            SegmentReference reference = mapping.reference(lastRelease, SegmentDescriptor.isHandlesOnly(header));
            ReferenceOwner owner = ReferenceOwner.attached(ownerName);
            try {
                reference.reserve(owner);
            } catch (IllegalStateException released) {
                if (unlinkReleased.test(header)) {
                    SegmentFiles.deleteQuietly(path);
                }
                throw new BusyException(path + " was released by its last holder and is being removed");
            }
            return new SegmentLease(path, mapping, reference, owner);
        } catch (InternalError e) {
            throw truncated(mapping, path, e);
        } catch (BusyException | RuntimeException | Error e) {
            SegmentMappings.release(mapping);
            throw e;
        }
    }

    /** A mapping of its own of the file at {@code path}, or null if there is none; refuses a squatter at once. */
    private static SegmentMappings.Mapping mapPrivately(Path path, FileTrust trust) throws BusyException {
        try {
            try (SegmentFiles.CheckedFile f = SegmentFiles.openChecked(path, trust)) {
                if (f.status().size() < SegmentDescriptor.HEADER_LENGTH) {
                    throw new BusyException(path + " is being created");
                }
            }
            return SegmentMappings.acquirePrivate(path, trust);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + path + ": " + e.getMessage(), e);
        }
    }

    private static IllegalStateException truncated(SegmentMappings.Mapping mapping, Path path, InternalError e) {
        try {
            mapping.markFaultedOrRethrow(e);
        } finally {
            SegmentMappings.release(mapping);
        }
        return new IllegalStateException("segment " + path + " is shorter than its mapping: another process "
                + "truncated the file, so it can no longer be used (" + e.getMessage() + ")", e);
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
            now = Files.size(path);
        } catch (IOException e) {
            now = mapped;
        }
        return now < mapped || now < declared ? "; the file has " + now + " bytes now: it was truncated by another "
                + "process (or is not a segment)" : "";
    }

    /**
     * A staging segment gets a new generation each time its pool reuses it, and the pool does that only while it
     * is the sole holder; so a generation read after reserving is the one this lease holds. A stale stub gives
     * its reference back (or back to the message it took it from) and fails.
     */
    private static void checkStillSameGeneration(SegmentReference reference, ReferenceOwner owner, long expected,
            boolean tookInFlight) {
        long actual = SegmentDescriptor.getGenerationVolatile(reference.header());
        if (expected == 0 || actual == expected) {
            return;
        }
        if (tookInFlight) {
            reference.transfer(owner, ReferenceOwner.IN_FLIGHT);
        } else {
            reference.release(owner);
        }
        throw new IllegalStateException("stale reference to " + reference.path() + ": generation " + expected
                + " but the segment was reused and has generation " + actual);
    }

    // ------------------------------------------------------------------------------------------ creating

    /**
     * Creates a segment with a random name in {@code directory} and returns the creator's lease; {@code link},
     * if not null, runs on the header before it is published (see {@link SegmentDescriptor#putLink}).
     *
     * @throws dev.tessera.sharedmem.SegmentSpaceException if it does not fit
     */
    public static SegmentLease create(Path directory, long dataBytes, boolean persistent,
            Consumer<MemorySegment> link, String ownerName) {
        String name = SegmentFiles.newName();
        createFile(directory, name, dataBytes);
        int flags = persistent ? SegmentDescriptor.FLAG_PERSISTENT : 0;
        return mapNew(directory, name, flags, true, link != null ? link : h -> { }, SegmentReference.LastRelease.UNLINK,
                ownerName);
    }

    /**
     * Creates a segment of {@code kind} named {@code fileName} that only handles hold (see
     * {@link SegmentDescriptor#FLAG_HANDLES_ONLY}), mapped privately; runs {@code initData} on its data region
     * before the header is published, and returns the creator's lease.
     *
     * @throws UncheckedIOException with a {@link java.nio.file.FileAlreadyExistsException} cause if it exists
     */
    public static SegmentLease createPrivate(Path directory, String fileName, long dataBytes, int kind,
            boolean persistent, Consumer<MemorySegment> initData, SegmentReference.LastRelease lastRelease,
            String ownerName) {
        createFile(directory, fileName, dataBytes);
        int flags = SegmentDescriptor.flags(kind, persistent, true);
        return mapNew(directory, fileName, flags, false,
                header -> initData.accept(header.asSlice(SegmentDescriptor.HEADER_LENGTH)), lastRelease, ownerName);
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

    private static SegmentLease mapNew(Path directory, String name, int flags, boolean cached,
            Consumer<MemorySegment> beforePublish, SegmentReference.LastRelease lastRelease, String ownerName) {
        Path path = directory.toAbsolutePath().normalize().resolve(name);
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
            SegmentReference reference = mapping.reference(lastRelease, (flags & SegmentDescriptor.FLAG_HANDLES_ONLY) != 0);
            ReferenceOwner owner = ReferenceOwner.attached(ownerName);
            reference.reserveFirst(owner, () -> {
                beforePublish.accept(header);
                SegmentDescriptor.initialize(header, flags, header.byteSize(), SegmentFiles.newGeneration(),
                        ProcessLiveness.selfPid(), ProcessLiveness.selfStartMillis(), System.currentTimeMillis());
            });
            return new SegmentLease(path, mapping, reference, owner);
        } catch (RuntimeException | Error e) {
            SegmentMappings.release(mapping);
            SegmentFiles.deleteQuietly(path);
            throw e;
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

    // ------------------------------------------------------------------------------------------ the lease

    public Path path() {
        return path;
    }

    public long generation() {
        return generation;
    }

    /** Bytes of the whole mapping, header included. */
    public long byteSize() {
        return byteSize;
    }

    /** The reference this lease is one owner of; for tests, and for holders that lend it (a staging pool). */
    public SegmentReference reference() {
        return state.reference;
    }

    /** This lease as an owner of {@link #reference()}. */
    public ReferenceOwner owner() {
        return state.owner;
    }

    /** The header in the shared mapping (not in this lease's arena): for reading counts; valid while open. */
    public MemorySegment header() {
        checkOpen();
        return state.header;
    }

    /** The whole segment, header included, in this lease's arena; throws once the lease is closed. */
    public MemorySegment view() {
        return state.view();
    }

    /** The arena views of this lease live in; throws once the lease is closed. */
    public Arena viewArena() {
        return state.viewArena();
    }

    /** The owner and mode the file had when this process mapped it. */
    public SegmentFiles.FileStatus status() {
        return state.mapping.status();
    }

    /** Whether the segment survives its last close; readable after close. */
    public boolean isPersistent() {
        return SegmentDescriptor.isPersistent(state.header);
    }

    public boolean isOpen() {
        return !state.closing.get();
    }

    public void checkOpen() {
        if (!isOpen()) {
            throw new IllegalStateException("segment handle " + path.getFileName() + " is closed");
        }
    }

    /** Gives back this lease's reference and mapping; unlinks the segment if it was the last reference. */
    @Override
    public void close() {
        closeTransferring(null);
    }

    /**
     * Closes this lease but hands its reference to {@code to} instead of giving it back: to
     * {@link ReferenceOwner#IN_FLIGHT} (a message; its receiver takes it over) or to a record owner (whoever
     * removes the record gives it back). Idempotent with {@link #close()}: only the first close counts.
     */
    public void closeTransferring(ReferenceOwner to) {
        if (state.closing.compareAndSet(false, true)) {
            state.transferTo = to;
            state.explicit = true;
            cleanable.clean();
        }
    }

    @Override
    public String toString() {
        return "SegmentLease[" + path + " by " + state.owner + (isOpen() ? "" : ", closed") + "]";
    }

    /**
     * What a lease must give back; runs once, from a close or, for a leaked lease, from the Cleaner. Holds the
     * shared mapping (for the header) and, once a view was asked for, the lease's own arena that views live in.
     */
    private static final class State implements Runnable {
        final AtomicBoolean closing = new AtomicBoolean();
        final Path path;
        final SegmentMappings.Mapping mapping;
        final MemorySegment header;
        final SegmentReference reference;
        final ReferenceOwner owner;
        volatile boolean explicit;
        volatile ReferenceOwner transferTo; // null: give the reference back
        private Arena views; // guarded by this; null until the first view, and again once closed
        private MemorySegment view; // guarded by this
        private boolean viewsClosed; // guarded by this

        State(Path path, SegmentMappings.Mapping mapping, SegmentReference reference, ReferenceOwner owner) {
            this.path = path;
            this.mapping = mapping;
            this.header = mapping.segment();
            this.reference = reference;
            this.owner = owner;
        }

        synchronized MemorySegment view() {
            viewArena();
            return view;
        }

        @SuppressWarnings("restricted") // reinterpret: the view spans exactly this lease's own mapping
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
            giveBackReference();
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
         * Releases or transfers this lease's reference. A file that another process truncated faults here: that
         * is logged, the mapping is marked faulted, and closing goes on.
         */
        private void giveBackReference() {
            if (mapping.faulted()) {
                reference.abandon(owner);
                LOG.warn("not releasing {}: its file was truncated by another process; the reaper removes it", path);
                return;
            }
            try {
                ReferenceOwner to = transferTo;
                if (to != null) {
                    reference.transfer(owner, to);
                } else {
                    reference.release(owner);
                }
            } catch (InternalError e) { // a fault delivered after the access it came from
                reference.abandon(owner);
                mapping.markFaultedOrRethrow(e);
            } catch (RuntimeException e) {
                LOG.warn("releasing {} failed: {}", path, e.toString());
            }
        }
    }
}
