package dev.tessera.sharedmem.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The layout of the header at the start of every Tessera shared-memory segment, and the only code that
 * reads or writes it. Stateless and thread-safe; every cross-process field is accessed atomically.
 *
 * <pre>
 *   0        8        12       16                24               32               40
 *   +--------+--------+--------+-----------------+----------------+----------------+
 *   | magic  |version | flags  | segment length  | data offset    | generation     |   cache line 0:
 *   +--------+--------+--------+-----------------+----------------+----------------+   written once by
 *   40                48                56               64                            the creator, then
 *   +-----------------+-----------------+----------------+                             read-only
 *   | owner pid       | owner start ms  | created ms     |
 *   +-----------------+-----------------+----------------+
 *   64                72                80               88    89                128
 *   +-----------------+-----------------+----------------+-----+-----------------+  cache line 1:
 *   | ref count       | pending handoffs| link gen       | len | link name       |  counts: CAS by every
 *   +-----------------+-----------------+----------------+-----+-----------------+  process; link:
 *                                                                                    written once, before
 *                                                                                    publication
 *   128: SLOT_COUNT attach slots of 16 bytes, one per attached process
 *   +------------------------------+------------------+
 *   | pid (high 32) | handles (low 32) | start ms     |  ... up to HEADER_LENGTH
 *   +------------------------------+------------------+
 *   4096: data (DATA_ALIGNMENT-aligned, page-aligned in fact)
 * </pre>
 *
 * <p>Publication: the creator writes every field, then the layout version last with release semantics;
 * after that, line 0 is read-only except the generation of a staging segment, which its pool renews on every
 * reuse (see {@link #putGenerationVolatile}).
 * readers check the version with acquire semantics before trusting anything else. A version of 0 means
 * "still being created".
 *
 * <p>Reference count protocol: {@code refCount >= 0} while the segment is live and {@link #RELEASED} once
 * it is dead. A handle {@link #tryRetain retains} only a live segment (and a non-persistent one only from a
 * positive count), so a segment that was released or reaped can never be revived. The process that moves
 * the count to {@code RELEASED} unlinks the file.
 *
 * <p>Flags: {@link #FLAG_PERSISTENT}, {@link #FLAG_HANDLES_ONLY}, and in bits 8-15 an opaque <em>kind</em>
 * (0 for a plain segment) that another layer registers through {@link SegmentKind}; this layer gives it no
 * meaning beyond handing the segment to the registered kind when a reaper or a listing looks at it.
 *
 * <p>Link: a segment may name the segment that holds it (its holder's name, up to {@link #MAX_LINK_NAME_BYTES}
 * ASCII bytes, and its generation), so that a reaper can ask the holder's kind whether a live holder still
 * holds it (a store's value names its store). A segment without a holder has generation 0 there. The link sits
 * in what layout version 1 left as zeroed padding, so it is a compatible extension of that version.
 *
 * <p>Attach slots let a reaper tell a leaked segment from a live one: each process holding handles owns one
 * slot with its pid, its start time (to survive pid reuse) and its number of handles. Slots of different
 * processes share cache lines; that is acceptable because they change only on open and close.
 */
public final class SegmentDescriptor {
    /** "TSRSHM" then 0x0001, as a little-endian long. */
    public static final long MAGIC = 0x0100_4D48_5352_5354L;
    public static final int LAYOUT_VERSION = 1;

    public static final int MAGIC_OFFSET = 0;
    public static final int LAYOUT_VERSION_OFFSET = 8;
    public static final int FLAGS_OFFSET = 12;
    public static final int SEGMENT_LENGTH_OFFSET = 16;
    public static final int DATA_OFFSET_OFFSET = 24;
    public static final int GENERATION_OFFSET = 32;
    public static final int OWNER_PID_OFFSET = 40;
    public static final int OWNER_START_OFFSET = 48;
    public static final int CREATED_MILLIS_OFFSET = 56;
    public static final int REF_COUNT_OFFSET = 64;
    public static final int PENDING_HANDOFFS_OFFSET = 72;
    public static final int LINK_GENERATION_OFFSET = 80;
    public static final int LINK_NAME_LENGTH_OFFSET = 88;
    public static final int LINK_NAME_OFFSET = 89;
    public static final int MAX_LINK_NAME_BYTES = 128 - LINK_NAME_OFFSET;
    public static final int SLOTS_OFFSET = 128;
    public static final int SLOT_LENGTH = 16;
    public static final int HEADER_LENGTH = 4096;
    public static final int SLOT_COUNT = (HEADER_LENGTH - SLOTS_OFFSET) / SLOT_LENGTH;
    public static final long DATA_ALIGNMENT = 64;

    public static final int FLAG_PERSISTENT = 1;
    /**
     * Only attached handles ever hold the segment (no references in flight, none held by records): a closing
     * handle, and the reaper, may release it once every attached process is dead.
     */
    public static final int FLAG_HANDLES_ONLY = 2;
    public static final int KIND_SHIFT = 8;
    public static final int MAX_KIND = 0xFF;
    public static final long RELEASED = -1;

    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    private SegmentDescriptor() {}

    /** Bytes of a segment whose data region holds {@code dataBytes}, rounded up to the data alignment. */
    public static long segmentLength(long dataBytes) {
        if (dataBytes < 0 || dataBytes > Long.MAX_VALUE - HEADER_LENGTH - DATA_ALIGNMENT) {
            throw new IllegalArgumentException("dataBytes=" + dataBytes + " (expected 0 <= x < 2^63 - 4160)");
        }
        return HEADER_LENGTH + alignUp(dataBytes);
    }

    public static long alignUp(long bytes) {
        return (bytes + DATA_ALIGNMENT - 1) & -DATA_ALIGNMENT;
    }

    /** Checks that a mapping can hold a header. */
    public static void checkCapacity(long capacity) {
        if (capacity < HEADER_LENGTH) {
            throw new IllegalStateException(
                    "segment of " + capacity + " bytes is smaller than its header (" + HEADER_LENGTH + " bytes)");
        }
    }

    /** Writes the header of a fresh segment with one reference, publishing the layout version last. */
    public static void initialize(MemorySegment header, int flags, long segmentLength, long generation,
            long ownerPid, long ownerStartMillis, long createdMillis) {
        checkCapacity(header.byteSize());
        header.set(ValueLayout.JAVA_LONG, MAGIC_OFFSET, MAGIC);
        header.set(ValueLayout.JAVA_INT, FLAGS_OFFSET, flags);
        header.set(ValueLayout.JAVA_LONG, SEGMENT_LENGTH_OFFSET, segmentLength);
        header.set(ValueLayout.JAVA_LONG, DATA_OFFSET_OFFSET, HEADER_LENGTH);
        header.set(ValueLayout.JAVA_LONG, GENERATION_OFFSET, generation);
        header.set(ValueLayout.JAVA_LONG, OWNER_PID_OFFSET, ownerPid);
        header.set(ValueLayout.JAVA_LONG, OWNER_START_OFFSET, ownerStartMillis);
        header.set(ValueLayout.JAVA_LONG, CREATED_MILLIS_OFFSET, createdMillis);
        LONG.setVolatile(header, (long) REF_COUNT_OFFSET, 1L);
        putLayoutVersionRelease(header, LAYOUT_VERSION);
    }

    public static void putLayoutVersionRelease(MemorySegment header, int version) {
        INT.setRelease(header, (long) LAYOUT_VERSION_OFFSET, version);
    }

    public static int getLayoutVersionAcquire(MemorySegment header) {
        return (int) INT.getAcquire(header, (long) LAYOUT_VERSION_OFFSET);
    }

    public static long getMagic(MemorySegment header) {
        return header.get(ValueLayout.JAVA_LONG, MAGIC_OFFSET);
    }

    public static int getFlags(MemorySegment header) {
        return header.get(ValueLayout.JAVA_INT, FLAGS_OFFSET);
    }

    public static boolean isPersistent(MemorySegment header) {
        return (getFlags(header) & FLAG_PERSISTENT) != 0;
    }

    public static long getSegmentLength(MemorySegment header) {
        return header.get(ValueLayout.JAVA_LONG, SEGMENT_LENGTH_OFFSET);
    }

    public static long getDataOffset(MemorySegment header) {
        return header.get(ValueLayout.JAVA_LONG, DATA_OFFSET_OFFSET);
    }

    public static long getGeneration(MemorySegment header) {
        return header.get(ValueLayout.JAVA_LONG, GENERATION_OFFSET);
    }

    public static long getGenerationVolatile(MemorySegment header) {
        return (long) LONG.getVolatile(header, (long) GENERATION_OFFSET);
    }

    /**
     * Gives a staging segment a new generation before its pool reuses it, so that stubs of its earlier
     * contents go stale. Only the pool that owns the segment writes it, and only while no receiver holds it;
     * an opener re-reads it after retaining (see {@code SharedSegment.open}).
     */
    public static void putGenerationVolatile(MemorySegment header, long generation) {
        LONG.setVolatile(header, (long) GENERATION_OFFSET, generation);
    }

    public static long getOwnerPid(MemorySegment header) {
        return header.get(ValueLayout.JAVA_LONG, OWNER_PID_OFFSET);
    }

    public static long getOwnerStartMillis(MemorySegment header) {
        return header.get(ValueLayout.JAVA_LONG, OWNER_START_OFFSET);
    }

    public static long getCreatedMillis(MemorySegment header) {
        return header.get(ValueLayout.JAVA_LONG, CREATED_MILLIS_OFFSET);
    }

    public static long getRefCountVolatile(MemorySegment header) {
        return (long) LONG.getVolatile(header, (long) REF_COUNT_OFFSET);
    }

    public static boolean compareAndSetRefCount(MemorySegment header, long expected, long update) {
        return LONG.compareAndSet(header, (long) REF_COUNT_OFFSET, expected, update);
    }

    /** Adds one reference unless the segment is dead; returns whether it did. */
    public static boolean tryRetain(MemorySegment header) {
        boolean persistent = isPersistent(header);
        while (true) {
            long count = getRefCountVolatile(header);
            if (count < 0 || (count == 0 && !persistent)) {
                return false;
            }
            if (compareAndSetRefCount(header, count, count + 1)) {
                return true;
            }
        }
    }

    /**
     * Drops one reference. Returns true when this call killed the segment (moved the count to
     * {@link #RELEASED}): the caller must then unlink the file.
     */
    public static boolean release(MemorySegment header) {
        boolean persistent = isPersistent(header);
        while (true) {
            long count = getRefCountVolatile(header);
            if (count <= 0) {
                return false; // already dead (reaped) or a persistent segment with no holders: nothing to drop
            }
            long next = (count == 1 && !persistent) ? RELEASED : count - 1;
            if (compareAndSetRefCount(header, count, next)) {
                return next == RELEASED;
            }
        }
    }

    /** The flags word of a new segment. */
    public static int flags(int kind, boolean persistent, boolean handlesOnly) {
        if (kind < 0 || kind > MAX_KIND) {
            throw new IllegalArgumentException("kind=" + kind + " (expected 0.." + MAX_KIND + ")");
        }
        return (kind << KIND_SHIFT) | (persistent ? FLAG_PERSISTENT : 0) | (handlesOnly ? FLAG_HANDLES_ONLY : 0);
    }

    /** The segment's kind: 0 for a plain segment, else the code a {@link SegmentKind} registered. */
    public static int getKind(MemorySegment header) {
        return (getFlags(header) >>> KIND_SHIFT) & MAX_KIND;
    }

    public static boolean isHandlesOnly(MemorySegment header) {
        return (getFlags(header) & FLAG_HANDLES_ONLY) != 0;
    }

    /**
     * Links a segment to the segment that holds it; call before {@link #initialize} publishes the header.
     * {@code holderName} is ASCII of at most {@link #MAX_LINK_NAME_BYTES} bytes.
     */
    public static void putLink(MemorySegment header, String holderName, long holderGeneration) {
        byte[] name = holderName.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        if (name.length == 0 || name.length > MAX_LINK_NAME_BYTES || holderGeneration == 0) {
            throw new IllegalArgumentException("link '" + holderName + "' (expected 1.." + MAX_LINK_NAME_BYTES
                    + " ASCII bytes) with generation " + holderGeneration + " (expected non-zero)");
        }
        header.set(ValueLayout.JAVA_LONG, LINK_GENERATION_OFFSET, holderGeneration);
        header.set(ValueLayout.JAVA_BYTE, LINK_NAME_LENGTH_OFFSET, (byte) name.length);
        MemorySegment.copy(name, 0, header, ValueLayout.JAVA_BYTE, LINK_NAME_OFFSET, name.length);
    }

    /** The generation of the holder this segment links to, or 0 if it has none. */
    public static long getLinkGeneration(MemorySegment header) {
        return header.get(ValueLayout.JAVA_LONG, LINK_GENERATION_OFFSET);
    }

    /** The name of the holder this segment links to, or null if it has none. */
    public static String getLinkName(MemorySegment header) {
        int length = Byte.toUnsignedInt(header.get(ValueLayout.JAVA_BYTE, LINK_NAME_LENGTH_OFFSET));
        if (getLinkGeneration(header) == 0 || length == 0 || length > MAX_LINK_NAME_BYTES) {
            return null;
        }
        byte[] name = new byte[length];
        MemorySegment.copy(header, ValueLayout.JAVA_BYTE, LINK_NAME_OFFSET, name, 0, length);
        return new String(name, java.nio.charset.StandardCharsets.US_ASCII);
    }

    /**
     * Kills a non-persistent segment whose remaining references all belong to dead processes: for segments
     * whose references are all handles (see {@link #FLAG_HANDLES_ONLY}), so that a holder
     * killed with {@code kill -9} does not keep it alive. Scans the attach slots, then swaps the count it read
     * before the scan for {@link #RELEASED}; a process that opens the segment meanwhile has claimed a slot
     * before retaining, so it either shows up in the scan or fails to retain. Returns true when this call
     * killed the segment (the caller must then remove it).
     */
    public static boolean releaseIfHeldOnlyByDead(MemorySegment header) {
        if (isPersistent(header)) {
            return false;
        }
        long count = getRefCountVolatile(header);
        if (count <= 0 || anyAttachedAlive(header)) {
            return false;
        }
        return compareAndSetRefCount(header, count, RELEASED);
    }

    /**
     * Drops the references of attached processes that have certainly exited, so that a holder killed with
     * {@code kill -9} does not pin the segment while its owner lives. For each attach slot whose process is gone
     * (no such pid, or a zombie; see {@link ProcessLiveness#isCertainlyDead}), claims the slot by swapping it for
     * free, then drops as many references as the slot counted handles; a non-persistent segment whose count
     * reaches 0 is moved to {@link #RELEASED}. Returns true when this call killed the segment (the caller must
     * then unlink it).
     *
     * <p>Why this is exact: every handle counted in a slot holds one reference (it attached, then retained or
     * took a handoff; a handle that hands its reference off or leaves it to a store detaches), and travelling
     * handoffs and references held by records are in no slot, so they stay counted. Only one caller can claim a slot, so
     * two processes discounting at once drop each dead holder once. A live process that opens meanwhile either
     * retained first (the count stays positive) or finds the segment released and gets a clear error. A pid that
     * a new process reuses counts as alive (the slot stays, erring on the side of keeping the segment). One
     * residual window: a process killed between claiming its slot and taking its reference (two adjacent
     * compare-and-swaps in {@code SharedSegment.open}) is discounted one reference too many, so its segment may be
     * released while one other holder remains; that holder keeps its mapping, new opens are refused.
     */
    public static boolean releaseDeadHolders(MemorySegment header) {
        boolean killed = false;
        for (int i = 0; i < SLOT_COUNT; i++) {
            long v = getSlotVolatile(header, i);
            int handles = slotHandles(v);
            if (handles > 0 && ProcessLiveness.isCertainlyDead(slotPid(v))
                    && LONG.compareAndSet(header, slotOffset(i), v, 0L)) {
                killed |= releaseMany(header, handles);
            }
        }
        return killed;
    }

    /** Drops {@code n} references at once; like {@link #release}, returns true when this call killed it. */
    private static boolean releaseMany(MemorySegment header, long n) {
        boolean persistent = isPersistent(header);
        while (true) {
            long count = getRefCountVolatile(header);
            if (count <= 0) {
                return false;
            }
            long left = Math.max(0, count - n);
            long next = (left == 0 && !persistent) ? RELEASED : left;
            if (compareAndSetRefCount(header, count, next)) {
                return next == RELEASED;
            }
        }
    }

    /** Whether a live process holds handles in one of the attach slots. */
    public static boolean anyAttachedAlive(MemorySegment header) {
        for (int i = 0; i < SLOT_COUNT; i++) {
            long v = getSlotVolatile(header, i);
            if (slotHandles(v) > 0 && ProcessLiveness.isAlive(slotPid(v), getSlotStartMillisAcquire(header, i))) {
                return true;
            }
        }
        return false;
    }

    public static long getPendingHandoffsVolatile(MemorySegment header) {
        return (long) LONG.getVolatile(header, (long) PENDING_HANDOFFS_OFFSET);
    }

    /** Records that one reference now travels in a message rather than in a handle. */
    public static void addPendingHandoff(MemorySegment header) {
        LONG.getAndAdd(header, (long) PENDING_HANDOFFS_OFFSET, 1L);
    }

    /** Takes over one travelling reference if there is one; returns whether it did. */
    public static boolean tryTakePendingHandoff(MemorySegment header) {
        while (true) {
            long pending = getPendingHandoffsVolatile(header);
            if (pending <= 0) {
                return false;
            }
            if (LONG.compareAndSet(header, (long) PENDING_HANDOFFS_OFFSET, pending, pending - 1)) {
                return true;
            }
        }
    }

    private static long slotOffset(int slot) {
        return SLOTS_OFFSET + (long) slot * SLOT_LENGTH;
    }

    public static long getSlotVolatile(MemorySegment header, int slot) {
        return (long) LONG.getVolatile(header, slotOffset(slot));
    }

    public static long getSlotStartMillisAcquire(MemorySegment header, int slot) {
        return (long) LONG.getAcquire(header, slotOffset(slot) + 8);
    }

    public static int slotPid(long slotValue) {
        return (int) (slotValue >>> 32);
    }

    public static int slotHandles(long slotValue) {
        return (int) slotValue;
    }

    /** Counts one more handle of process {@code pid}, claiming a free slot if it has none yet. */
    public static void attach(MemorySegment header, int pid, long startMillis) {
        while (true) {
            if (tryIncrementOwnSlot(header, pid) || tryClaimFreeSlot(header, pid, startMillis)) {
                return;
            }
            if (!hasFreeSlot(header)) {
                throw new IllegalStateException("segment has no free attach slot: " + SLOT_COUNT
                        + " processes are attached already; close handles in other processes and retry");
            }
        }
    }

    private static boolean tryIncrementOwnSlot(MemorySegment header, int pid) {
        for (int i = 0; i < SLOT_COUNT; i++) {
            long v = getSlotVolatile(header, i);
            if (slotPid(v) == pid && slotHandles(v) > 0) {
                return LONG.compareAndSet(header, slotOffset(i), v, v + 1) || tryIncrementOwnSlot(header, pid);
            }
        }
        return false;
    }

    private static boolean tryClaimFreeSlot(MemorySegment header, int pid, long startMillis) {
        for (int i = 0; i < SLOT_COUNT; i++) {
            if (getSlotVolatile(header, i) == 0
                    && LONG.compareAndSet(header, slotOffset(i), 0L, ((long) pid << 32) | 1L)) {
                LONG.setRelease(header, slotOffset(i) + 8, startMillis);
                return true;
            }
        }
        return false;
    }

    private static boolean hasFreeSlot(MemorySegment header) {
        for (int i = 0; i < SLOT_COUNT; i++) {
            if (getSlotVolatile(header, i) == 0) {
                return true;
            }
        }
        return false;
    }

    /** Counts one handle of process {@code pid} less, freeing its slot with the last one. */
    public static void detach(MemorySegment header, int pid) {
        for (int i = 0; i < SLOT_COUNT; i++) {
            long v = getSlotVolatile(header, i);
            if (slotPid(v) == pid && slotHandles(v) > 0) {
                long next = slotHandles(v) == 1 ? 0L : v - 1;
                if (LONG.compareAndSet(header, slotOffset(i), v, next)) {
                    return;
                }
                i = -1; // lost a race with another thread of this process: rescan
            }
        }
    }
}
