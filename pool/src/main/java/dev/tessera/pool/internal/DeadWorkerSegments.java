package dev.tessera.pool.internal;

import dev.tessera.sharedmem.SegmentInfo;
import dev.tessera.sharedmem.SegmentReaper;
import dev.tessera.sharedmem.SharedSegment;
import java.io.IOException;
import java.nio.file.Files;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Reclaims the shared segments a dead worker JVM held. Stateless. */
final class DeadWorkerSegments {
    private static final Logger LOG = LoggerFactory.getLogger(DeadWorkerSegments.class);

    private DeadWorkerSegments() {}

    /**
     * Removes the shared segments this JVM created for stub messages that a worker took over and then died
     * holding (killed, crashed, or cancelled mid-task): their only reference belongs to a dead process, and
     * the reaper leaves them alone while their creator, this JVM, lives. A segment qualifies when this JVM
     * created it, holds no handle on it, and every process attached to it is dead; a segment still in
     * flight has no attached process and is left alone.
     */
    static void reclaim() {
        long self = ProcessHandle.current().pid();
        try {
            for (SegmentInfo s : SegmentReaper.list(SharedSegment.defaultDirectory())) {
                if (s.published() && !s.persistent() && s.ownerPid() == self && s.ownerAlive()
                        && !s.attachedPids().isEmpty() && !s.anyAttachedAlive()) {
                    Files.deleteIfExists(s.path());
                    LOG.debug("removed segment {}, left by a dead worker", s.name());
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not remove the shared segments of a dead worker: {}", e.toString());
        }
    }
}
