package dev.tessera.sharedmem.internal;

import java.util.Objects;

/**
 * A named holder of one cross-process reference to a shared segment (see {@link SegmentReference}): immutable
 * and thread-safe; it owns no memory. Owners are compared by identity: two handles with the same name are two
 * owners.
 *
 * <p>The {@link Holding} says where the segment header counts the reference, and so who may give it back:
 * <ul>
 *   <li>{@link Holding#ATTACHED}: an object of this process (a {@code SharedSegment} handle, the handle a tensor
 *       or a staging pool holds) that is also counted in this process's attach slot, so a reaper can tell
 *       whether its process lives;
 *   <li>{@link Holding#LOCAL}: an object of this process counted in no slot (a staged copy that an encode call
 *       holds until its message goes out);
 *   <li>{@link Holding#IN_FLIGHT}: a reference travelling in a message, counted in the header's pending
 *       handoffs; the first receiver in any process takes it over, or the sender recalls it;
 *   <li>{@link Holding#RECORD}: a reference that a record in shared memory owns (an entry of an index another
 *       layer keeps); whoever removes the record, in any process, releases it.
 * </ul>
 * {@link SegmentReference} tracks ATTACHED and LOCAL owners by identity in this process; IN_FLIGHT and RECORD
 * references are counted in shared memory and may be given back by another process.
 */
public final class ReferenceOwner {
    /** Where the segment header counts a reference; see the class comment. */
    public enum Holding {
        ATTACHED, LOCAL, IN_FLIGHT, RECORD
    }

    /** The one owner of every reference that travels in a message. */
    public static final ReferenceOwner IN_FLIGHT = new ReferenceOwner("a message in flight", Holding.IN_FLIGHT);

    private final String name;
    private final Holding holding;

    private ReferenceOwner(String name, Holding holding) {
        this.name = Objects.requireNonNull(name, "name");
        this.holding = Objects.requireNonNull(holding, "holding");
    }

    /** An owner in this process, counted in its attach slot (a handle). */
    public static ReferenceOwner attached(String name) {
        return new ReferenceOwner(name, Holding.ATTACHED);
    }

    /** An owner in this process, counted in no attach slot. */
    public static ReferenceOwner local(String name) {
        return new ReferenceOwner(name, Holding.LOCAL);
    }

    /** An owner that is a record in shared memory; name it after the kind of record. */
    public static ReferenceOwner record(String name) {
        return new ReferenceOwner(name, Holding.RECORD);
    }

    /** What this owner is, for messages and {@link SegmentReference#holders()}. */
    public String referenceName() {
        return name;
    }

    public Holding holding() {
        return holding;
    }

    /** Whether {@link SegmentReference} tracks this owner by identity in this process. */
    boolean isLocal() {
        return holding == Holding.ATTACHED || holding == Holding.LOCAL;
    }

    @Override
    public String toString() {
        return name;
    }
}
