package dev.tessera.sharedmem.internal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process's mappings of segment files, shared by every handle on the same segment: thread-safe; a
 * {@link Mapping} is owned by the handles that {@linkplain #acquire acquired} it and unmapped by the cache.
 *
 * <p>Why: mapping a file costs an {@code open}, an {@code mmap} and a {@code close}, and unmapping costs the
 * close of a shared FFM arena, which is a handshake with every thread of the JVM; together about 25 µs, more
 * than the rest of a stub handoff. Like PyTorch's shared-memory handle cache, this cache maps each segment once
 * per process and keeps the mapping while handles use it, and for a while after ("idle"), so that a segment
 * opened again and again (a worker receiving the same tensor's stub) is mapped once.
 *
 * <p>What the cache holds is address space, never a reference: the cross-process reference count and attach
 * slots are the business of the handles, through the {@link SegmentReference} each mapping carries. An idle mapping is unmapped as soon as its segment is dead (reference count
 * {@code RELEASED}: its memory would otherwise stay allocated while we keep it mapped), after
 * {@link #IDLE_MILLIS} without use, or when more than {@link #MAX_IDLE} mappings are idle (least recently used
 * first). A daemon sweeper thread runs while there are idle mappings and checks them every
 * {@link #SWEEP_MILLIS}, so a dead segment's memory is kept at most that long by an idle mapping. Only segments
 * whose names are never reused (random names) may be cached; store indexes use {@link #acquirePrivate}.
 *
 * <p>Files that shrink: another process may truncate a segment file while it is mapped here; touching a page
 * past the new end of the file raises SIGBUS, which the JVM reports as an {@link InternalError} ("a fault
 * occurred in an unsafe memory access"). So {@link #acquire} compares the file's size with a cached mapping
 * before touching its header, unless it did so less than {@link #SIZE_CHECK_NANOS} ago (a mapping of a file that
 * changed size is retired and the file mapped afresh, which then fails with a clear error), every header read
 * here catches the fault and retires that mapping alone, and the sweeper checks each idle mapping on its own and survives any failure of a pass.
 *
 * <p>Views a handle gives out must not outlive the handle, so handles do not hand out this mapping's memory
 * directly: they reinterpret it in an arena of their own (see {@code SharedSegment}).
 */
public final class SegmentMappings {
    public static final int MAX_IDLE = 256;
    public static final long IDLE_MILLIS = 10_000;
    public static final long SWEEP_MILLIS = 100;
    /**
     * How long a cached mapping's file size, once checked, is trusted by the next {@link #acquire}: the check is
     * an {@code lstat}, a third of the cost of opening a stub, and it can only ever be a snapshot (the file may
     * shrink right after it), so a file that shrank more than this long before an open is still caught.
     */
    public static final long SIZE_CHECK_NANOS = 1_000_000;

    private static final Logger LOG = LoggerFactory.getLogger(SegmentMappings.class);
    private static final Map<Path, Mapping> MAPPINGS = new HashMap<>(); // guarded by LOCK
    private static final LinkedHashMap<Mapping, Boolean> IDLE = new LinkedHashMap<>(); // LRU first; guarded
    private static final Object LOCK = new Object();
    private static Thread sweeper; // guarded by LOCK

    private SegmentMappings() {}

    /** One mapping of a whole segment file, shared by its users. */
    public static final class Mapping {
        private final Path path;
        private final Arena arena;
        private final MemorySegment segment;
        private final SegmentFiles.FileStatus status;
        private final boolean cached;
        private int users; // guarded by LOCK
        private long idleSinceNanos; // guarded by LOCK
        private long sizeCheckedNanos; // guarded by LOCK: when the file last had the mapping's size
        private volatile boolean faulted;
        private volatile boolean retired;
        private SegmentReference reference; // guarded by this; made by the first user

        private Mapping(Path path, Arena arena, SegmentFiles.Mapped mapped, boolean cached) {
            this.path = path;
            this.arena = arena;
            this.segment = mapped.segment();
            this.status = mapped.status();
            this.cached = cached;
            this.sizeCheckedNanos = System.nanoTime(); // the mapping has the size the file had when it was opened
        }

        /** The whole file (header included); valid while this mapping is acquired. */
        public MemorySegment segment() {
            return segment;
        }

        /**
         * This process's side of the segment's reference count, shared by every user of this mapping; the first
         * user decides what the last release does (a cached mapping's users always unlink).
         */
        public synchronized SegmentReference reference(SegmentReference.LastRelease lastRelease, boolean handlesOnly) {
            if (reference == null) {
                reference = new SegmentReference(path, segment, lastRelease, handlesOnly);
            }
            return reference;
        }

        /** The owner and mode the file had when it was mapped (its owner cannot change but by root). */
        public SegmentFiles.FileStatus status() {
            return status;
        }

        /**
         * Whether touching this mapping faulted (the file shrank under it: another process truncated it). A
         * faulted mapping is never handed out again; its users keep it until they release it.
         */
        public boolean faulted() {
            return faulted;
        }

        /**
         * Marks this mapping faulted if {@code e} is a fault on a mapped page (see {@link #isMappingFault}), else
         * rethrows {@code e}.
         */
        public void markFaultedOrRethrow(InternalError e) {
            if (!isMappingFault(e)) {
                throw e;
            }
            markFaulted(e);
        }

        /** Records that an access to this mapping faulted; see {@link #faulted()}. */
        public void markFaulted(Throwable fault) {
            if (!faulted) {
                faulted = true;
                LOG.warn("segment file {} shrank under its mapping (truncated by another process?): {}; this "
                        + "process stops using it", path, fault.toString());
            }
        }

        /**
         * Whether the file is now shorter than this mapping, found with an {@code lstat} and without touching the
         * mapping (then marked faulted). The sweeper asks this first: in JIT-compiled code HotSpot may deliver the
         * InternalError of a fault on a mapped page asynchronously, after the access, outside the try that guards
         * it, so a pass that touched a truncated mapping could fail as a whole, again on every pass, and never drop
         * it. A file that is gone (unlinked) is not shorter: its mapping stays valid.
         */
        private boolean shrunk() {
            if (faulted) {
                return true;
            }
            try {
                if (SegmentFiles.regularFileSize(path) >= segment.byteSize()) {
                    return false;
                }
            } catch (IOException e) {
                return false;
            }
            markFaulted(new IOException("the file is now shorter than its mapping of " + segment.byteSize()
                    + " bytes"));
            return true;
        }

        /** Dead, or unusable: its segment was released, or the file shrank under the mapping. */
        private boolean dead() {
            if (faulted || retired) {
                return true;
            }
            try {
                return SegmentDescriptor.getRefCountVolatile(segment) == SegmentDescriptor.RELEASED;
            } catch (InternalError e) { // SIGBUS: the page is past the end of the file now
                markFaultedOrRethrow(e);
                return true;
            }
        }
    }

    /**
     * Whether {@code e} is the JVM's report of a fault on a mapped page (SIGBUS: the file is shorter than the
     * mapping now), rather than a bug.
     */
    public static boolean isMappingFault(Throwable e) {
        return e instanceof InternalError && String.valueOf(e.getMessage()).contains("fault occurred");
    }

    /**
     * The mapping of the segment file at {@code path}, shared with other handles; the caller must
     * {@linkplain #release release} it once. Maps the file if no usable mapping of it is cached, checking its
     * owner and mode with {@code trust}; a cached mapping is checked against the owner and mode it was mapped
     * with.
     *
     * @throws dev.tessera.sharedmem.UntrustedFileException if {@code trust} refuses the file
     */
    public static Mapping acquire(Path path, FileTrust trust) throws IOException {
        Mapping recent = useRecentlyChecked(path, trust);
        if (recent != null) {
            return recent;
        }
        long size = SegmentFiles.regularFileSize(path); // before touching a cached header: has the file shrunk?
        Mapping cached = useCached(path, size, trust);
        if (cached != null) {
            return cached;
        }
        Mapping fresh = map(path, true, trust);
        List<Mapping> unmap = new ArrayList<>();
        Installed installed = install(path, fresh, trust, unmap);
        unmap.forEach(SegmentMappings::unmap);
        if (installed.refused() != null) { // throws, naming owner and mode
            trust.check(path, installed.refused().status.ownerUid(), installed.refused().status.mode());
        }
        return installed.result();
    }

    /**
     * The cached usable mapping of {@code path} whose file size was checked less than {@link #SIZE_CHECK_NANOS}
     * ago, now used once more; or null.
     */
    private static Mapping useRecentlyChecked(Path path, FileTrust trust) {
        synchronized (LOCK) {
            Mapping m = MAPPINGS.get(path);
            if (m != null && System.nanoTime() - m.sizeCheckedNanos < SIZE_CHECK_NANOS && !m.dead()) {
                trust.check(path, m.status.ownerUid(), m.status.mode());
                use(m);
                return m;
            }
            return null;
        }
    }

    /** The cached usable mapping of {@code path}, now used once more, or null if there is none. */
    private static Mapping useCached(Path path, long size, FileTrust trust) {
        synchronized (LOCK) {
            Mapping m = MAPPINGS.get(path);
            if (m != null && size != m.segment.byteSize()) {
                m.retired = true; // its file changed size (another process truncated it): map it afresh
            }
            if (m != null && !m.dead()) {
                trust.check(path, m.status.ownerUid(), m.status.mode());
                m.sizeCheckedNanos = System.nanoTime();
                use(m);
                return m;
            }
            return null;
        }
    }

    /** What {@link #install} did: the mapping now used, or the one another thread made that trust refuses. */
    private record Installed(Mapping result, Mapping refused) {}

    /**
     * Caches {@code fresh} as the mapping of {@code path}, unless another thread mapped it meanwhile (then that
     * one is used, if {@code trust} admits it). Mappings to unmap, outside the lock, go to {@code unmap}.
     */
    private static Installed install(Path path, Mapping fresh, FileTrust trust, List<Mapping> unmap) {
        synchronized (LOCK) {
            Mapping m = MAPPINGS.get(path);
            Mapping result = fresh;
            Mapping refused = null;
            if (m != null && !m.dead()) {
                unmap.add(fresh); // another thread mapped it meanwhile, perhaps under a looser trust than ours
                result = m;
                if (!trust.admits(m.status.ownerUid(), m.status.mode())) {
                    refused = m;
                    result = null;
                }
            } else {
                if (m != null) {
                    MAPPINGS.remove(path); // dead: unmapped by its last user, or now if idle
                    if (IDLE.remove(m) != null) {
                        unmap.add(m);
                    }
                }
                MAPPINGS.put(path, fresh);
            }
            if (result != null) {
                use(result);
            }
            return new Installed(result, refused);
        }
    }

    /**
     * A mapping of its own, unmapped at {@link #release}; for files whose names are reused (store indexes).
     *
     * @throws dev.tessera.sharedmem.UntrustedFileException if {@code trust} refuses the file
     */
    public static Mapping acquirePrivate(Path path, FileTrust trust) throws IOException {
        Mapping m = map(path, false, trust);
        synchronized (LOCK) {
            m.users = 1;
        }
        return m;
    }

    private static Mapping map(Path path, boolean cached, FileTrust trust) throws IOException {
        Arena arena = Arena.ofShared();
        try {
            return new Mapping(path, arena, SegmentFiles.mapExisting(path, arena, trust), cached);
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private static void use(Mapping m) { // holds LOCK
        if (m.users++ == 0) {
            IDLE.remove(m);
        }
    }

    /** Gives back one use of {@code m}; a mapping nobody uses is kept idle, or unmapped if its segment is dead. */
    public static void release(Mapping m) {
        List<Mapping> unmap = new ArrayList<>();
        synchronized (LOCK) {
            if (--m.users > 0) {
                return;
            }
            if (!m.cached || m.dead()) {
                MAPPINGS.remove(m.path, m);
                unmap.add(m);
            } else {
                m.idleSinceNanos = System.nanoTime();
                IDLE.put(m, Boolean.TRUE);
                evictIdle(unmap, false);
                startSweeper();
            }
        }
        unmap.forEach(SegmentMappings::unmap);
    }

    /**
     * Removes idle mappings that are dead (or faulted), over the count limit or, with {@code expire}, too old.
     * Holds LOCK. A mapping whose file shrank is found dead (the fault is caught in {@link Mapping#dead}), so one
     * truncated file never stops the others from being checked.
     */
    private static void evictIdle(List<Mapping> unmap, boolean expire) {
        long now = System.nanoTime();
        int excess = IDLE.size() - MAX_IDLE;
        for (Iterator<Mapping> it = IDLE.keySet().iterator(); it.hasNext(); ) {
            Mapping m = it.next();
            boolean old = expire && now - m.idleSinceNanos > IDLE_MILLIS * 1_000_000;
            if (excess-- > 0 || old || (expire && m.shrunk()) || m.dead()) {
                it.remove();
                MAPPINGS.remove(m.path, m);
                unmap.add(m);
            }
        }
    }

    private static void startSweeper() { // holds LOCK
        if (sweeper == null) {
            sweeper = Thread.ofPlatform().daemon().name("tessera-shm-mapping-sweeper").start(SegmentMappings::sweep);
        }
    }

    /** The sweeper's loop; it ends only when nothing is idle, and no failure of one pass ends it. */
    private static void sweep() {
        while (true) {
            LockSupport.parkNanos(SWEEP_MILLIS * 1_000_000);
            List<Mapping> unmap = new ArrayList<>();
            boolean done = false;
            try {
                synchronized (LOCK) {
                    evictIdle(unmap, true);
                    done = IDLE.isEmpty();
                    if (done) {
                        sweeper = null;
                    }
                }
            } catch (RuntimeException | Error e) { // checked per entry already; this is the last line of defence
                LOG.warn("sweeping idle segment mappings failed; trying again in {} ms: {}", SWEEP_MILLIS, e.toString());
            }
            unmap.forEach(SegmentMappings::unmap);
            if (done) {
                return;
            }
        }
    }

    private static void unmap(Mapping m) {
        try {
            m.arena.close();
        } catch (RuntimeException | InternalError e) {
            LOG.warn("unmapping {} failed: {}", m.path, e.toString());
        }
    }

    /** Unmaps every idle mapping now (for tests and for callers about to free much memory). */
    public static void evictAllIdle() {
        List<Mapping> unmap = new ArrayList<>();
        synchronized (LOCK) {
            for (Mapping m : IDLE.keySet()) {
                MAPPINGS.remove(m.path, m);
                unmap.add(m);
            }
            IDLE.clear();
        }
        unmap.forEach(SegmentMappings::unmap);
    }

    /** Whether a mapping of {@code path} is cached now, in use or idle (for tests and diagnostics). */
    public static boolean isCached(Path path) {
        synchronized (LOCK) {
            return MAPPINGS.containsKey(path);
        }
    }

    /** The number of mappings nobody uses now. */
    public static int idleCount() {
        synchronized (LOCK) {
            return IDLE.size();
        }
    }
}
