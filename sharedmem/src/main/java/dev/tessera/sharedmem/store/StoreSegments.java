package dev.tessera.sharedmem.store;

import dev.tessera.sharedmem.internal.FileTrust;
import dev.tessera.sharedmem.internal.ReferenceOwner;
import dev.tessera.sharedmem.internal.SegmentDescriptor;
import dev.tessera.sharedmem.internal.SegmentFiles;
import dev.tessera.sharedmem.internal.SegmentLease;
import dev.tessera.sharedmem.internal.SegmentReference;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's use of the segment layer, in one place: stateless and thread-safe; the leases it returns belong to
 * the caller. The index is a segment of kind {@link #KIND} in a file named by {@link StoreFiles}, opened through a
 * mapping of its own; the last release of a non-persistent index destroys the store ({@link #destroy}). A value is
 * a segment {@linkplain Link linked} to the index, whose reference an index entry owns ({@link #ENTRY}); whoever
 * removes the entry gives it back ({@link #releaseValue}). Each holder of a reference is a named owner.
 */
final class StoreSegments {
    private static final Logger LOG = LoggerFactory.getLogger(StoreSegments.class);

    private StoreSegments() {}

    /** The segment kind of a store index (see {@code SegmentDescriptor.getKind}). */
    static final int KIND = 1;
    /** The reference owner a store handle is of its index segment. */
    static final String OWNER = "SharedStore";
    /** The reference owner a {@code get} is of a value's segment while it reads it. */
    static final String READER = "SharedStore reader";
    /** The reference owner a tensor that {@code get} returns is of its segment. */
    static final String TENSOR_READER = "SharedTensor";
    /** The owner of a value segment's reference once an index entry holds it; whoever removes the entry releases it. */
    static final ReferenceOwner ENTRY = ReferenceOwner.record("a store index entry");

    /** The link from a store value's segment to the store index that holds it. */
    record Link(String storeName, long storeGeneration) {
        /** A new value segment linked to this store; its writer's lease hands it to an entry. */
        SegmentLease create(Path directory, long dataBytes) {
            return SegmentLease.create(directory, dataBytes, false,
                    header -> SegmentDescriptor.putLink(header, storeName, storeGeneration), "SharedStore writer");
        }
    }

    /** The index of store {@code name} in this user's namespace, then in trusted users' (lowest uid first); or null. */
    private static SegmentLease openExisting(Path dir, String name, SegmentReference.LastRelease onLast, FileTrust trust)
            throws SegmentLease.BusyException {
        SegmentLease existing = openIndex(dir, StoreFiles.fileName(name), onLast, trust);
        for (java.util.Iterator<Integer> it = trust.trustedOwners().stream().sorted().iterator();
                existing == null && it.hasNext(); ) {
            existing = openIndex(dir, StoreFiles.fileName(it.next(), name), onLast, trust);
        }
        return existing;
    }

    private static SegmentLease openIndex(Path dir, String fileName, SegmentReference.LastRelease onLast,
            FileTrust trust) throws SegmentLease.BusyException {
        return SegmentLease.openPrivate(dir, fileName, KIND, onLast,
                header -> StoreIndex.claimUnlink(header.asSlice(SegmentDescriptor.HEADER_LENGTH)), trust, OWNER);
    }

    /** Drops the reference that a replaced or removed entry held on its value segment. */
    static void releaseValue(Path directory, byte[] entry, FileTrust trust) {
        if (entry != null && entry.length > 0 && StoreIndex.hasSegment(entry)) {
            SegmentReference.releaseUnheld(directory.resolve(SegmentFiles.nameOf(StoreIndex.segmentNameBitsOf(entry))),
                    StoreIndex.segmentGenerationOf(entry), ENTRY, trust);
        }
    }

    /**
     * Opens store {@code name}'s index in {@code dir} (this user's, then trusted users' namespaces), or creates it
     * if {@code create}; retries while it is busy (being created or removed), for up to {@code timeoutNanos}.
     */
    static SegmentLease openOrCreateIndex(Path dir, String name, boolean create, int capacity, boolean persistent,
            long timeoutNanos, FileTrust trust) {
        SegmentReference.LastRelease onLast = (mapping, path) -> destroy(mapping, path, name, dir, timeoutNanos, trust);
        String fileName = StoreFiles.fileName(name);
        long deadline = System.nanoTime() + timeoutNanos;
        for (int attempt = 0; ; attempt++) {
            try {
                SegmentLease existing = openExisting(dir, name, onLast, trust);
                if (existing != null) {
                    return existing;
                }
                if (!create) {
                    throw new NoSuchElementException("no store '" + name + "' in " + dir);
                }
                return SegmentLease.createPrivate(dir, fileName, StoreIndexDescriptor.dataBytes(capacity), KIND,
                        persistent, data -> StoreIndex.initialize(data, capacity), onLast, OWNER);
            } catch (UncheckedIOException e) {
                if (!(e.getCause() instanceof FileAlreadyExistsException)) {
                    throw e;
                }
                // another process created it first: open theirs
            } catch (SegmentLease.BusyException e) {
                if (System.nanoTime() - deadline >= 0) {
                    throw new IllegalStateException("store '" + name + "' could not be opened: " + e.getMessage()
                            + " for more than " + timeoutNanos / 1_000_000 + " ms (if its creator died, "
                            + "./tessera shm gc removes it after a minute)", e);
                }
                LockSupport.parkNanos(Math.min(1_000_000L, 10_000L << Math.min(attempt, 7)));
            }
        }
    }

    /**
     * Runs when the last reference to a non-persistent store's index goes: unlinks the index file first (so
     * the name is free at once), then removes every entry and releases its value.
     */
    static void destroy(MemorySegment mapping, Path path, String name, Path directory, long lockTimeoutNanos,
            FileTrust trust) {
        MemorySegment data = mapping.asSlice(SegmentDescriptor.HEADER_LENGTH);
        if (StoreIndex.claimUnlink(data)) {
            SegmentFiles.deleteQuietly(path);
        }
        StoreIndex index = new StoreIndex(data, name, lockTimeoutNanos);
        List<byte[]> released = new ArrayList<>();
        try {
            index.lock();
            try {
                for (long slot = 0; slot < index.capacity(); slot++) {
                    byte[] entry = index.entryImage(slot);
                    if (StoreIndex.stateOf(entry) == StoreIndexDescriptor.STATE_LIVE) {
                        index.commit(slot, StoreIndex.tombstoneImage(), index.live() - 1, index.tombstones() + 1);
                        released.add(entry);
                    }
                }
            } finally {
                index.unlock();
            }
        } catch (RuntimeException e) {
            LOG.warn("removing store '{}' failed: {}; the reaper will collect its values", name, e.toString());
        }
        for (byte[] entry : released) {
            releaseValue(directory, entry, trust);
        }
    }
}
