package dev.tessera.sharedmem;

import java.nio.file.Path;
import java.util.List;

/**
 * What a {@link SegmentReaper} saw of one segment file. Immutable.
 *
 * @param name the file name ({@code tessera-} and 32 hex digits for a segment; a registered kind names its own
 *     files, such as {@code tessera-store-UID-STORE} for a store's index and {@code tessera-named-UID-NAME} for a
 *     named segment)
 * @param path the file
 * @param sizeBytes the file size, header included
 * @param published whether the header was complete (an unpublished file is being created, or its creator
 *     died while creating it)
 * @param persistent whether the segment survives its last close
 * @param ownerPid the creating process, or 0 if unpublished
 * @param ownerAlive whether the creating process is still running
 * @param attachedPids processes holding handles now
 * @param anyAttachedAlive whether one of them is still running
 * @param refCount the cross-process reference count (-1 once released)
 * @param ageMillis milliseconds since creation (or since the file was last modified, if unpublished)
 * @param kind a plain segment, a holder (a store's index), a segment a holder holds (a store's value), or a named
 *     segment
 * @param store for a holder or a held segment, the holder's name (the store's name); for a named segment, its
 *     name; otherwise null
 * @param heldByStore for a held segment, whether a live holder still holds it; otherwise false
 */
public record SegmentInfo(String name, Path path, long sizeBytes, boolean published, boolean persistent,
        long ownerPid, boolean ownerAlive, List<Long> attachedPids, boolean anyAttachedAlive, long refCount,
        long ageMillis, Kind kind, String store, boolean heldByStore) {

    /**
     * What a segment file is. The segment layer knows holders only as registered segment kinds: the store
     * ({@code dev.tessera.sharedmem.store.SharedStore}), hence the names, and named segments.
     */
    public enum Kind {
        /** A segment of tensors (or anything else). */
        SEGMENT,
        /** A holder: a segment of a registered kind, the index of a {@code SharedStore}. */
        STORE,
        /** A segment linked to a holder: a value held by a {@code SharedStore}. */
        STORE_VALUE,
        /** A segment created under a name a user chose ({@link SharedSegment.Builder#optName}); handles hold it. */
        NAMED
    }

    /**
     * Copies {@code attachedPids}, so the record stays immutable.
     *
     * @throws NullPointerException if {@code attachedPids} or one of its elements is null
     */
    public SegmentInfo {
        attachedPids = List.copyOf(attachedPids);
    }

    /**
     * True when nothing that could still use the segment is alive: the reaper may remove it. For a held
     * segment (a store value) that means no process holds it and no live holder does; for a non-persistent
     * holder (a store index) or named segment that no attached process is alive (only handles hold it);
     * otherwise that its owner and every attached process are dead.
     *
     * @return whether the segment is published and orphaned; an unpublished file is never orphaned here
     */
    public boolean orphaned() {
        return published && !anyAttachedAlive && switch (kind) {
            case STORE_VALUE -> !heldByStore;
            case STORE, NAMED -> persistent ? !ownerAlive : true; // only handles hold them
            case SEGMENT -> !ownerAlive;
        };
    }
}
