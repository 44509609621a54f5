package dev.tessera.sharedmem;

import java.nio.file.Path;
import java.util.List;

/**
 * What a {@link SegmentReaper} saw of one segment file. Immutable.
 *
 * @param name the segment name
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
 */
public record SegmentInfo(String name, Path path, long sizeBytes, boolean published, boolean persistent,
        long ownerPid, boolean ownerAlive, List<Long> attachedPids, boolean anyAttachedAlive, long refCount,
        long ageMillis) {

    public SegmentInfo {
        attachedPids = List.copyOf(attachedPids);
    }

    /** True when nothing that could still use the segment is alive: the reaper may remove it. */
    public boolean orphaned() {
        return published && !ownerAlive && !anyAttachedAlive;
    }
}
