package dev.tessera.queue.internal;

import static dev.tessera.queue.internal.QueueDescriptor.KIND_EMPTY;
import static dev.tessera.queue.internal.QueueDescriptor.KIND_FULL;
import static dev.tessera.queue.internal.QueueDescriptor.KIND_READING;
import static dev.tessera.queue.internal.QueueDescriptor.KIND_WRITING;
import static dev.tessera.queue.internal.QueueDescriptor.POSITION_SHIFT;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One process's view of a bounded many-producer, many-consumer ring of fixed-size slots in shared memory
 * (layout and state machine: {@link QueueDescriptor}). Thread-safe; it does not own the memory, whose
 * segment handle its caller keeps open for as long as the ring is used.
 *
 * <p>The algorithm is Dmitry Vyukov's bounded MPMC queue, with the claimer's process-table index in the
 * slot's sequence word so that a claim is never anonymous. A producer claims the slot at the tail with a CAS
 * {@code EMPTY(p) -> WRITING(p, me)}, then bumps the tail (anyone who sees a claimed slot at the tail bumps it
 * too, so a producer that dies right after its claim does not stall the tail), writes, and publishes
 * {@code FULL(p)} with release semantics. A consumer does the same at the head with
 * {@code FULL(p) -> READING(p, me)}, copies the message out and releases {@code EMPTY(p + capacity)}.
 *
 * <p>Recovery (only on the slow path of a waiting caller): a slot claimed by a process that is no longer alive
 * is taken back with one CAS, so of two processes that recover the same slot exactly one succeeds. A dead
 * producer's slot becomes {@code EMPTY(p + capacity)}: its half-written record is skipped. A dead consumer's
 * slot becomes {@code FULL(p)} again, behind the head; {@link #pollOrphan()} scans for such slots and delivers
 * them, so the record the dead consumer had claimed is delivered to another consumer (it may have been
 * delivered to the dead one too, if it died after copying but before releasing).
 */
public final class SlotRing {
    private final MemorySegment region;
    private final int capacity;
    private final int stride;
    private final int maxMessageBytes;
    private final int self;

    private SlotRing(MemorySegment region, int self) {
        this.region = region;
        this.capacity = QueueDescriptor.getCapacity(region);
        this.stride = QueueDescriptor.getSlotStride(region);
        this.maxMessageBytes = QueueDescriptor.getMaxMessageBytes(region);
        this.self = self;
    }

    /**
     * Joins the ring in {@code region} (already initialised and checked): takes a free process-table slot, or
     * one whose process died after first taking back every slot that process had claimed.
     *
     * @throws IllegalStateException if every table slot belongs to a live process
     */
    public static SlotRing join(MemorySegment region, String queueName) {
        long me = ProcessIds.self();
        for (int i = 0; i < QueueDescriptor.PROCESS_SLOTS; i++) {
            if (QueueDescriptor.getProcessVolatile(region, i) == 0 && QueueDescriptor.casProcess(region, i, 0, me)) {
                return new SlotRing(region, i);
            }
        }
        for (int i = 0; i < QueueDescriptor.PROCESS_SLOTS; i++) {
            long old = QueueDescriptor.getProcessVolatile(region, i);
            if (!ProcessIds.isAlive(old)) {
                new SlotRing(region, -1).recoverClaimsOf(i);
                if (QueueDescriptor.casProcess(region, i, old, me)) {
                    return new SlotRing(region, i);
                }
            }
        }
        throw new IllegalStateException("queue " + queueName + " is open in " + QueueDescriptor.PROCESS_SLOTS
                + " live handles already, its limit; close handles that are no longer used");
    }

    /** Gives back this handle's process-table slot; call only once no operation of this handle is running. */
    public void leave() {
        QueueDescriptor.casProcess(region, self, ProcessIds.self(), 0);
    }

    /** The number of slots. */
    public int capacity() {
        return capacity;
    }

    /** The largest message a slot holds. */
    public int maxMessageBytes() {
        return maxMessageBytes;
    }

    /** This handle's index in the process table (the owner in its claims). */
    public int owner() {
        return self;
    }

    /** Messages published or being written and not yet claimed by a consumer, clamped to [0, capacity]. */
    public int size() {
        long head = QueueDescriptor.getHeadVolatile(region);
        long tail = QueueDescriptor.getTailVolatile(region);
        return (int) Math.max(0, Math.min(capacity, tail - head));
    }

    private long slotOffset(long position) {
        return QueueDescriptor.SLOTS_OFFSET + Math.floorMod(position, capacity) * (long) stride;
    }

    /** The payload area of the slot of {@code position}, {@link #maxMessageBytes()} long. */
    public MemorySegment payload(long position) {
        return region.asSlice(slotOffset(position) + QueueDescriptor.SLOT_HEADER_BYTES, maxMessageBytes);
    }

    // ---- producers

    /**
     * Claims the slot at the tail for writing.
     *
     * @return the claimed position, or -1 if the queue is full
     */
    public long tryClaimWrite() {
        while (true) {
            long pos = QueueDescriptor.getTailVolatile(region);
            long off = slotOffset(pos);
            long s = QueueDescriptor.getStateAcquire(region, off);
            long d = QueueDescriptor.distance(s, pos);
            if (d == 0 && QueueDescriptor.kind(s) == KIND_EMPTY) {
                if (QueueDescriptor.casState(region, off, s, QueueDescriptor.writing(pos, self))) {
                    QueueDescriptor.casTail(region, pos);
                    return pos;
                }
            } else if (d >= 0) {
                QueueDescriptor.casTail(region, pos); // claimed by someone else already: help the tail along
            } else {
                return -1; // the previous lap's message still occupies the slot
            }
        }
    }

    /** Publishes the {@code length} bytes written into {@link #payload} of a claimed position. */
    public void publish(long position, int length) {
        long off = slotOffset(position);
        QueueDescriptor.putLength(region, off, length);
        QueueDescriptor.putStateRelease(region, off, QueueDescriptor.full(position));
    }

    /** Gives up a claimed position without a message: consumers skip it. */
    public void abandon(long position) {
        QueueDescriptor.putStateRelease(region, slotOffset(position), QueueDescriptor.empty(position + capacity));
        QueueDescriptor.casHead(region, position); // if consumers wait right here, let the head pass at once
    }

    // ---- consumers

    /**
     * Reads a message out of its slot before the slot is freed: the bytes it is given are valid only during the
     * call, so it decodes them or copies them out. It must not return null.
     *
     * @param <T> what it makes of a message
     */
    @FunctionalInterface
    public interface Reader<T> {
        /** Reads the {@code length} message bytes at {@code offset} of {@code region}. */
        T read(MemorySegment region, long offset, int length);
    }

    /** A reader that copies the message bytes out. */
    public static final Reader<byte[]> BYTES = (region, offset, length) -> {
        byte[] bytes = new byte[length];
        MemorySegment.copy(region, ValueLayout.JAVA_BYTE, offset, bytes, 0, length);
        return bytes;
    };

    /**
     * Takes the message at the head, if one is published there.
     *
     * @return its bytes, or null if none is published at the head yet
     */
    public byte[] tryPoll() {
        return tryPoll(BYTES);
    }

    /**
     * Takes the message at the head, if one is published there, and reads it with {@code reader}.
     *
     * @return what {@code reader} made of it, or null if none is published at the head yet
     */
    public <T> T tryPoll(Reader<T> reader) {
        long pos = tryClaimRead();
        return pos < 0 ? null : takeClaimed(pos, reader);
    }

    /**
     * Claims the message at the head for reading.
     *
     * @return the claimed position, or -1 if none is published at the head yet
     */
    public long tryClaimRead() {
        while (true) {
            long pos = QueueDescriptor.getHeadVolatile(region);
            long off = slotOffset(pos);
            long s = QueueDescriptor.getStateAcquire(region, off);
            long d = QueueDescriptor.distance(s, pos);
            int kind = QueueDescriptor.kind(s);
            if (d == 0 && kind == KIND_FULL) {
                if (QueueDescriptor.casState(region, off, s, QueueDescriptor.reading(pos, self))) {
                    QueueDescriptor.casHead(region, pos);
                    return pos;
                }
            } else if (d > 0 || (d == 0 && kind == KIND_READING)) {
                QueueDescriptor.casHead(region, pos); // consumed or claimed already: help the head along
            } else {
                return -1; // not yet written (EMPTY or WRITING), or the slot still holds the previous lap
            }
        }
    }

    /** Copies out the message at a position this ring claimed for reading, and frees its slot. */
    public byte[] takeClaimed(long position) {
        return takeClaimed(position, BYTES);
    }

    /** Reads the message at a position this ring claimed for reading with {@code reader}, and frees its slot. */
    public <T> T takeClaimed(long position, Reader<T> reader) {
        return take(slotOffset(position), position, reader);
    }

    /** The slot is freed even if {@code reader} fails: the message is consumed either way. */
    private <T> T take(long off, long pos, Reader<T> reader) {
        try {
            int length = QueueDescriptor.getLength(region, off);
            if (length < 0 || length > maxMessageBytes) {
                throw new IllegalStateException("corrupt queue slot at position " + pos + ": length " + length
                        + " (expected 0 <= x <= " + maxMessageBytes + ")");
            }
            return reader.read(region, off + QueueDescriptor.SLOT_HEADER_BYTES, length);
        } finally {
            QueueDescriptor.putStateRelease(region, off, QueueDescriptor.empty(pos + capacity));
        }
    }

    // ---- recovery (slow paths only: each liveness check reads /proc)

    /**
     * For a waiting producer or consumer: takes back the slots at the head and the tail if their claimer died.
     *
     * @return true if a slot was recovered, so the caller should retry at once
     */
    public boolean recoverStalled() {
        boolean any = recoverIfDead(slotOffset(QueueDescriptor.getHeadVolatile(region)));
        return recoverIfDead(slotOffset(QueueDescriptor.getTailVolatile(region))) || any;
    }

    private boolean recoverIfDead(long off) {
        long s = QueueDescriptor.getStateAcquire(region, off);
        int kind = QueueDescriptor.kind(s);
        if ((kind == KIND_WRITING || kind == KIND_READING) && QueueDescriptor.owner(s) != self
                && !ProcessIds.isAlive(QueueDescriptor.getProcessVolatile(region, QueueDescriptor.owner(s)))) {
            return recover(off, s);
        }
        return false;
    }

    /** One CAS from a dead claim to what the slot should be: skipped (writer) or returned (reader). */
    private boolean recover(long off, long s) {
        long pos = s >>> POSITION_SHIFT;
        long to = QueueDescriptor.kind(s) == KIND_WRITING ? QueueDescriptor.empty(pos + capacity)
                : QueueDescriptor.full(pos);
        return QueueDescriptor.casState(region, off, s, to);
    }

    /** Takes back every slot claimed under process-table index {@code owner}, whose process died. */
    void recoverClaimsOf(int owner) {
        for (int i = 0; i < capacity; i++) {
            long off = slotOffset(i);
            long s = QueueDescriptor.getStateAcquire(region, off);
            int kind = QueueDescriptor.kind(s);
            if ((kind == KIND_WRITING || kind == KIND_READING) && QueueDescriptor.owner(s) == owner) {
                recover(off, s);
            }
        }
    }

    /**
     * Scans every slot: returns the claims of dead consumers to the queue, and takes one returned message
     * (a {@code FULL} slot behind the head) if there is one. O(capacity), for a consumer that found nothing at
     * the head for a while.
     *
     * @return the bytes of a returned message, or null
     */
    public byte[] pollOrphan() {
        return pollOrphan(BYTES);
    }

    /** As {@link #pollOrphan()}, reading the returned message with {@code reader}. */
    public <T> T pollOrphan(Reader<T> reader) {
        long head = QueueDescriptor.getHeadVolatile(region);
        byte[] liveness = new byte[QueueDescriptor.PROCESS_SLOTS]; // 0 unknown, 1 alive, 2 dead
        for (int i = 0; i < capacity; i++) {
            long off = slotOffset(i);
            long s = QueueDescriptor.getStateAcquire(region, off);
            int kind = QueueDescriptor.kind(s);
            if ((kind == KIND_READING || kind == KIND_WRITING) && isDead(QueueDescriptor.owner(s), liveness)) {
                if (!recover(off, s)) {
                    continue;
                }
                s = QueueDescriptor.getStateAcquire(region, off);
                kind = QueueDescriptor.kind(s);
            }
            // a FULL slot behind the head snapshot can only be a returned one: the head passes a slot by claiming it
            long pos = s >>> POSITION_SHIFT;
            if (kind == KIND_FULL && QueueDescriptor.distance(s, head) < 0
                    && QueueDescriptor.casState(region, off, s, QueueDescriptor.reading(pos, self))) {
                return take(off, pos, reader);
            }
        }
        return null;
    }

    private boolean isDead(int owner, byte[] liveness) {
        if (owner == self) {
            return false;
        }
        if (liveness[owner] == 0) {
            liveness[owner] = ProcessIds.isAlive(QueueDescriptor.getProcessVolatile(region, owner)) ? (byte) 1 : 2;
        }
        return liveness[owner] == 2;
    }
}
