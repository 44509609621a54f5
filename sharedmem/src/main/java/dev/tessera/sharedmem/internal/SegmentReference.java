package dev.tessera.sharedmem.internal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This process's side of a segment's cross-process reference count: thread-safe; it owns no memory (the
 * header it works on belongs to the mapping that made it). Every reference has a named {@link ReferenceOwner},
 * and every change to the count is one of four named operations, after Chronicle-Core's
 * {@code AbstractReferenceCounted}:
 * <ul>
 *   <li>{@link #reserve(ReferenceOwner)}: a new reference (the count goes up);
 *   <li>{@link #release(ReferenceOwner)}: the owner gives it back (down; the last one kills the segment and runs
 *       its {@link LastRelease});
 *   <li>{@link #transfer(ReferenceOwner, ReferenceOwner)}: the reference changes hands, the count stays (a handle
 *       hands it to a message or to a record; a receiver takes over a message's reference);
 *   <li>{@link #tryReserveSole(ReferenceOwner, ReferenceOwner)}: a new reference only while one owner is the sole
 *       holder (a staging pool lends its segment to one message at a time).
 * </ul>
 * The header records each kind of holding in its own place (see {@link ReferenceOwner.Holding} and
 * {@link SegmentDescriptor}): the count, the attach slot of an attached owner's process, the pending handoffs
 * of references in flight. This class keeps the three consistent and is the only code that changes them for a
 * live segment (the reaper's claim on a dead one is the exception).
 *
 * <p>Owners of this process ({@code ATTACHED}, {@code LOCAL}) are tracked by identity, so reserving twice for one
 * owner, releasing twice, or releasing a reference an owner does not hold is an {@link IllegalStateException}
 * naming the owner, the segment and its holders, not a silent miscount. References in flight and held by records
 * live in shared memory and may be given back by any process; for them the header's counts are the record.
 *
 * <p>Closing order: an attached owner claims its attach slot before it takes its reference and frees it after
 * giving the reference back (or away), so a reaper that sees no live slot knows no live process holds one.
 */
public final class SegmentReference {
    private static final Logger LOG = LoggerFactory.getLogger(SegmentReference.class);

    /** What happens when the last reference goes (the count is then {@link SegmentDescriptor#RELEASED}). */
    @FunctionalInterface
    public interface LastRelease {
        /** The default: unlink the file. */
        LastRelease UNLINK = (header, path) -> SegmentFiles.deleteQuietly(path);

        /** Called with the still-mapped segment (header first); must not throw. */
        void released(MemorySegment header, Path path);
    }

    private final Path path;
    private final MemorySegment header;
    private final LastRelease lastRelease;
    private final boolean handlesOnly;
    private final Set<ReferenceOwner> owners = ConcurrentHashMap.newKeySet();

    /**
     * @param path the segment file, for messages and for {@code lastRelease}
     * @param header the mapped header (at least {@link SegmentDescriptor#HEADER_LENGTH} bytes)
     * @param lastRelease what the owner that kills the segment does
     * @param handlesOnly the segment is only ever held by attached owners: an attached owner's release then
     *     also kills it when every other holder is a dead process (see
     *     {@link SegmentDescriptor#releaseIfHeldOnlyByDead})
     */
    public SegmentReference(Path path, MemorySegment header, LastRelease lastRelease, boolean handlesOnly) {
        this.path = Objects.requireNonNull(path, "path");
        this.header = Objects.requireNonNull(header, "header");
        this.lastRelease = Objects.requireNonNull(lastRelease, "lastRelease");
        this.handlesOnly = handlesOnly;
    }

    public Path path() {
        return path;
    }

    /** The header this reference counts in. */
    public MemorySegment header() {
        return header;
    }

    /**
     * The creator's reference: attaches {@code owner}, then runs {@code publish}, which writes the header with a
     * count of one (see {@link SegmentDescriptor#initialize}).
     */
    public void reserveFirst(ReferenceOwner owner, Runnable publish) {
        add(owner, "create");
        attachIfAttached(owner);
        try {
            publish.run();
        } catch (RuntimeException | Error e) {
            owners.remove(owner);
            throw e;
        }
    }

    /**
     * Takes a new reference for {@code owner}, an owner of this process.
     *
     * @throws IllegalStateException if the segment was released or reaped already, or {@code owner} holds one
     */
    public void reserve(ReferenceOwner owner) {
        add(owner, "reserve");
        attachIfAttached(owner);
        if (!SegmentDescriptor.tryRetain(header)) {
            detachIfAttached(owner);
            owners.remove(owner);
            throw new IllegalStateException("segment " + path + " was already released by its last holder or "
                    + "reaped; keep a handle open until every receiver has opened its own");
        }
    }

    /**
     * Takes over a reference that travels in a message if one is pending, else reserves a new one; returns
     * whether it took one over.
     *
     * @throws IllegalStateException as {@link #reserve}
     */
    public boolean reserveTakingInFlight(ReferenceOwner owner) {
        add(owner, "reserve");
        attachIfAttached(owner);
        if (SegmentDescriptor.tryTakePendingHandoff(header)) {
            return true;
        }
        if (!SegmentDescriptor.tryRetain(header)) {
            detachIfAttached(owner);
            owners.remove(owner);
            throw new IllegalStateException("segment " + path + " was already released by its last holder or "
                    + "reaped; keep a handle open until every receiver has opened its own");
        }
        return false;
    }

    /**
     * Takes a new reference for {@code owner} only if {@code sole} holds the only one (no other holder, none in
     * flight); returns whether it did.
     *
     * @throws IllegalStateException if {@code sole} holds no reference here, or {@code owner} holds one
     */
    public boolean tryReserveSole(ReferenceOwner sole, ReferenceOwner owner) {
        requireHeld(sole, "lend");
        if (!isHeldOnlyBy(sole)) {
            return false;
        }
        add(owner, "reserve");
        attachIfAttached(owner);
        if (!SegmentDescriptor.compareAndSetRefCount(header, 1, 2)) {
            detachIfAttached(owner);
            owners.remove(owner);
            return false;
        }
        return true;
    }

    /** Whether {@code owner} (of this process) holds the only reference: nobody else, none in flight. */
    public boolean isHeldOnlyBy(ReferenceOwner owner) {
        return owners.contains(owner) && owners.size() == 1 && SegmentDescriptor.getRefCountVolatile(header) == 1
                && SegmentDescriptor.getPendingHandoffsVolatile(header) == 0;
    }

    /**
     * Gives back {@code owner}'s reference; the one that kills the segment runs the {@link LastRelease}. An
     * attached owner that was not the last also gives back the references of dead holders (see
     * {@link SegmentDescriptor#releaseDeadHolders}) if its process created the segment, or of every holder if
     * the segment is held by handles only and they all died. Returns whether this call killed the segment.
     *
     * @throws IllegalStateException if {@code owner} holds no reference here (released twice, or never reserved),
     *     or is {@link ReferenceOwner#IN_FLIGHT} (use {@link #recallInFlight})
     */
    public boolean release(ReferenceOwner owner) {
        if (owner.holding() == ReferenceOwner.Holding.IN_FLIGHT) {
            throw new IllegalStateException("release by " + owner + " of segment " + path + ": a reference in "
                    + "flight is taken over by its receiver or recalled by its sender (recallInFlight)");
        }
        if (owner.isLocal()) {
            requireHeld(owner, "release");
            owners.remove(owner);
        }
        detachIfAttached(owner);
        boolean killed = SegmentDescriptor.release(header)
                || (owner.holding() == ReferenceOwner.Holding.ATTACHED && releaseDead());
        if (killed) {
            lastRelease.released(header, path);
        }
        return killed;
    }

    private boolean releaseDead() {
        return (handlesOnly && SegmentDescriptor.releaseIfHeldOnlyByDead(header))
                || (ownedByThisProcess() && SegmentDescriptor.releaseDeadHolders(header));
    }

    /**
     * Hands {@code from}'s reference to {@code to}; the count does not change. From or to
     * {@link ReferenceOwner#IN_FLIGHT}, a pending handoff is added or taken over.
     *
     * @throws IllegalStateException if {@code from} holds no reference here (from IN_FLIGHT: none is pending),
     *     or {@code to} holds one already
     */
    public void transfer(ReferenceOwner from, ReferenceOwner to) {
        if (from.isLocal()) {
            requireHeld(from, "transfer");
        }
        if (to.isLocal()) {
            add(to, "take over");
        }
        attachIfAttached(to);
        if (from.holding() == ReferenceOwner.Holding.IN_FLIGHT && !SegmentDescriptor.tryTakePendingHandoff(header)) {
            detachIfAttached(to);
            owners.remove(to);
            throw new IllegalStateException("transfer from " + from + " to " + to + " of segment " + path
                    + ": no reference is in flight (its receiver took it over, or it was recalled)");
        }
        if (to.holding() == ReferenceOwner.Holding.IN_FLIGHT) {
            SegmentDescriptor.addPendingHandoff(header);
        }
        if (from.isLocal()) {
            owners.remove(from);
        }
        detachIfAttached(from);
    }

    /**
     * Takes back one reference in flight and releases it, for a message that never went out; returns false
     * (and changes nothing) if none is pending, because a receiver took it over.
     */
    public boolean recallInFlight() {
        if (!SegmentDescriptor.tryTakePendingHandoff(header)) {
            return false;
        }
        if (SegmentDescriptor.release(header)) {
            lastRelease.released(header, path);
        }
        return true;
    }

    /**
     * Forgets {@code owner} without touching the header, for a handle whose mapping faulted (its file was
     * truncated): its reference cannot be given back; the reaper collects the file.
     */
    public void abandon(ReferenceOwner owner) {
        owners.remove(owner);
    }

    /**
     * Who holds references now, for tests and diagnostics: this process's owners by name, then
     * {@code "a message in flight"} once per pending handoff, then one line for the references held elsewhere
     * (other processes, records), if any.
     */
    public List<String> holders() {
        List<String> out = new ArrayList<>();
        owners.forEach(o -> out.add(o.referenceName()));
        long inFlight = SegmentDescriptor.getPendingHandoffsVolatile(header);
        for (long i = 0; i < inFlight; i++) {
            out.add(ReferenceOwner.IN_FLIGHT.referenceName());
        }
        long count = SegmentDescriptor.getRefCountVolatile(header);
        long elsewhere = count - owners.size() - inFlight;
        if (count >= 0 && elsewhere > 0) {
            out.add(elsewhere + " held by other processes or records");
        }
        return out;
    }

    /** Whether {@code owner} holds a reference here (owners of this process only). */
    public boolean isHeldBy(ReferenceOwner owner) {
        return owners.contains(owner);
    }

    private void add(ReferenceOwner owner, String what) {
        if (!owner.isLocal()) {
            throw new IllegalStateException(what + " for " + owner + " of segment " + path + ": only an owner of "
                    + "this process can take a new reference");
        }
        if (!owners.add(owner)) {
            throw new IllegalStateException(what + " by " + owner + " of segment " + path + ": it holds a "
                    + "reference already (holders: " + holders() + ")");
        }
    }

    private void requireHeld(ReferenceOwner owner, String what) {
        if (!owners.contains(owner)) {
            throw new IllegalStateException(what + " by " + owner + " of segment " + path + ": it holds no "
                    + "reference (released already, or never reserved; holders: " + holders() + ")");
        }
    }

    private void attachIfAttached(ReferenceOwner owner) {
        if (owner.holding() == ReferenceOwner.Holding.ATTACHED) {
            SegmentDescriptor.attach(header, ProcessLiveness.selfPid(), ProcessLiveness.selfStartMillis());
        }
    }

    private void detachIfAttached(ReferenceOwner owner) {
        if (owner.holding() == ReferenceOwner.Holding.ATTACHED) {
            SegmentDescriptor.detach(header, ProcessLiveness.selfPid());
        }
    }

    private boolean ownedByThisProcess() {
        return SegmentDescriptor.getOwnerPid(header) == ProcessLiveness.selfPid()
                && SegmentDescriptor.getOwnerStartMillis(header) == ProcessLiveness.selfStartMillis();
    }

    /**
     * Gives back a reference that no object of this process holds ({@code owner} is {@link ReferenceOwner#IN_FLIGHT}:
     * recalls it if still pending; or a {@link ReferenceOwner.Holding#RECORD} owner: releases it), in the segment at
     * {@code path} if it still has {@code generation}; unlinks the file if that was the last reference. A segment
     * that is gone already, or not this user's, is left alone.
     */
    public static void releaseUnheld(Path path, long generation, ReferenceOwner owner, FileTrust trust) {
        if (owner.isLocal()) {
            throw new IllegalArgumentException("releaseUnheld by " + owner + " (an owner of this process): release "
                    + "it through the segment's reference instead");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment header = SegmentFiles.mapRange(path, FileChannel.MapMode.READ_WRITE, 0,
                    SegmentDescriptor.HEADER_LENGTH, arena, trust);
            if (SegmentDescriptor.getLayoutVersionAcquire(header) != SegmentDescriptor.LAYOUT_VERSION
                    || SegmentDescriptor.getGenerationVolatile(header) != generation) {
                return;
            }
            SegmentReference reference = new SegmentReference(path, header, LastRelease.UNLINK, false);
            if (owner.holding() == ReferenceOwner.Holding.IN_FLIGHT) {
                reference.recallInFlight();
            } else {
                reference.release(owner);
            }
        } catch (NoSuchFileException e) {
            // released and unlinked already, or reaped
        } catch (IOException | dev.tessera.sharedmem.UntrustedFileException | InternalError e) {
            if (e instanceof InternalError ie && !SegmentMappings.isMappingFault(ie)) {
                throw ie; // a fault means the file was truncated meanwhile; anything else is a bug
            }
            LOG.warn("giving back the reference of {} to {} failed: {}; the reaper will collect it", owner, path,
                    e.toString());
        }
    }

    @Override
    public String toString() {
        return "SegmentReference[" + path + ", holders " + holders() + "]";
    }
}
