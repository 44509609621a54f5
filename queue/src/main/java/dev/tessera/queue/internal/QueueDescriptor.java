package dev.tessera.queue.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The layout of a queue in the data region of its shared-memory segment, and the only code that reads or
 * writes it. Stateless and thread-safe; every field that more than one process writes is accessed atomically.
 *
 * <pre>
 *   0        4        8        12       16                                                 64
 *   +--------+--------+--------+--------+--------------------------------------------------+
 *   | magic  |version |capacity| slot   | max message bytes (4), then zero padding          |  line 0: written
 *   |        |        |        | stride |                                                   |  once by the creator
 *   +--------+--------+--------+--------+--------------------------------------------------+
 *   128: tail (long), alone on its 128 bytes: CAS by producers      (next position to claim for writing)
 *   256: head (long), alone on its 128 bytes: CAS by consumers      (next position to claim for reading)
 *   384: not-empty wait word (long), alone on its 128 bytes: epoch (high int, a futex word) | consumers waiting
 *   512: not-full wait word (long), alone on its 128 bytes:  epoch (high int, a futex word) | producers waiting
 *   640: process table, PROCESS_SLOTS longs: 0 (free) or startMillis &lt;&lt; 22 | pid of a process that opened
 *        the queue; a slot's index is the "owner" in every claim that process makes
 *   640 + 8 * PROCESS_SLOTS = SLOTS_OFFSET: capacity slots of slotStride bytes each (a multiple of 64)
 *
 *   slot:  0                8          12        16                         slotStride
 *          +----------------+----------+---------+--------------------------+
 *          | state (long)   | length   | (pad)   | message bytes ...         |
 *          +----------------+----------+---------+--------------------------+
 * </pre>
 *
 * <p>The state word is the whole protocol (a Vyukov bounded MPMC queue whose sequence also names its
 * claimer): bits 63..12 hold a position (modulo 2^52), bits 11..2 the owner's process-table index and bits
 * 1..0 the kind. The slot of position {@code p} is {@code p mod capacity}; in lap order it goes
 * <pre>
 *   EMPTY(p) --producer CAS--&gt; WRITING(p, owner) --release--&gt; FULL(p) --consumer CAS--&gt; READING(p, owner)
 *      ^                                                                                          |
 *      +------------------------------- release EMPTY(p + capacity) -----------------------------+
 * </pre>
 * A claim is one CAS on the state word that records the claimer, so there is no moment when a slot is taken
 * but nobody is named for it. The head and tail counters are hints that anyone may advance past a slot that
 * is already claimed; they never run ahead of a claim. Recovery from a dead owner is a CAS too:
 * {@code WRITING(p, dead)} becomes {@code EMPTY(p + capacity)} (the half-written record is skipped, as if
 * consumed), and {@code READING(p, dead)} becomes {@code FULL(p)} again, an orphan behind the head that a
 * consumer's scan claims and delivers.
 *
 * <p>Waiting (see {@link EventCount}): each direction has one wait word, an epoch in its high int and the number
 * of callers registered to sleep in that epoch in its low int. A waiter adds one to the word (which also tells it
 * the epoch), re-checks the ring and sleeps on the epoch's int (a futex); whoever makes the ring ready for it (a
 * producer publishing, a consumer freeing a slot) reads the word after a full fence and, only if the count is not
 * zero, moves it to the next epoch with a count of zero and wakes the sleepers. A waiter killed while counted
 * leaves the count too high until that next wake-up, which it costs: never a lost message or a hang.
 *
 * <p>Versions: 1 had no wait words (the process table began at 384); a handle refuses a queue of another
 * version, so processes that disagree on the layout never share a queue.
 *
 * <p>Publication: the creator writes everything, then the layout version last with release semantics; an
 * opener checks the version with acquire semantics first. A message is published by writing its bytes and
 * length, then the state {@code FULL(p)} with release semantics; a reader acquires the state first.
 */
public final class QueueDescriptor {
    /** "TSQ1" as a little-endian int. */
    public static final int MAGIC = 0x3151_5354;
    /** 2: the wait words at 384 and 512 (version 1 had none). */
    public static final int LAYOUT_VERSION = 2;

    public static final int MAGIC_OFFSET = 0;
    public static final int LAYOUT_VERSION_OFFSET = 4;
    public static final int CAPACITY_OFFSET = 8;
    public static final int SLOT_STRIDE_OFFSET = 12;
    public static final int MAX_MESSAGE_BYTES_OFFSET = 16;
    public static final int TAIL_OFFSET = 128;
    public static final int HEAD_OFFSET = 256;
    public static final int NOT_EMPTY_WAIT_OFFSET = 384;
    public static final int NOT_FULL_WAIT_OFFSET = 512;
    public static final int PROCESS_TABLE_OFFSET = 640;
    public static final int PROCESS_SLOTS = 1024;
    public static final int SLOTS_OFFSET = PROCESS_TABLE_OFFSET + 8 * PROCESS_SLOTS;

    public static final int SLOT_STATE_OFFSET = 0;
    public static final int SLOT_LENGTH_OFFSET = 8;
    public static final int SLOT_HEADER_BYTES = 16;
    public static final int ALIGNMENT = 64;

    public static final int KIND_EMPTY = 0;
    public static final int KIND_WRITING = 1;
    public static final int KIND_FULL = 2;
    public static final int KIND_READING = 3;
    static final int KIND_BITS = 2;
    static final int OWNER_BITS = 10;
    static final int POSITION_SHIFT = KIND_BITS + OWNER_BITS;
    static final long POSITION_MASK = (1L << (64 - POSITION_SHIFT)) - 1;

    /** Queues larger than this are refused: the header, slots and their positions must stay manageable. */
    public static final int MAX_CAPACITY = 1 << 24;
    /** The largest message a slot may hold, so that a slot stride fits an int with room to spare. */
    public static final int MAX_MESSAGE_BYTES_LIMIT = 1 << 26;

    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    private QueueDescriptor() {}

    /** Bytes between consecutive slots for messages of up to {@code maxMessageBytes}. */
    public static int slotStride(int maxMessageBytes) {
        long raw = SLOT_HEADER_BYTES + (long) maxMessageBytes;
        return Math.toIntExact((raw + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT);
    }

    /** Bytes of data region a queue of this shape needs. */
    public static long regionBytes(int capacity, int maxMessageBytes) {
        return SLOTS_OFFSET + (long) capacity * slotStride(maxMessageBytes);
    }

    /**
     * Checks a capacity and a message size against the layout's limits.
     *
     * @throws IllegalArgumentException naming the value and the accepted range
     */
    public static void checkCapacity(int capacity, int maxMessageBytes) {
        if (capacity < 1 || capacity > MAX_CAPACITY) {
            throw new IllegalArgumentException("capacity=" + capacity + " (expected 1 <= x <= " + MAX_CAPACITY + ")");
        }
        if (maxMessageBytes < 1 || maxMessageBytes > MAX_MESSAGE_BYTES_LIMIT) {
            throw new IllegalArgumentException("maxMessageBytes=" + maxMessageBytes + " (expected 1 <= x <= "
                    + MAX_MESSAGE_BYTES_LIMIT + ")");
        }
    }

    /** Writes the shape and initial slot states into a zero-filled region, then publishes the layout version. */
    public static void initialise(MemorySegment region, int capacity, int maxMessageBytes) {
        INT.set(region, (long) MAGIC_OFFSET, MAGIC);
        INT.set(region, (long) CAPACITY_OFFSET, capacity);
        INT.set(region, (long) SLOT_STRIDE_OFFSET, slotStride(maxMessageBytes));
        INT.set(region, (long) MAX_MESSAGE_BYTES_OFFSET, maxMessageBytes);
        for (int i = 0; i < capacity; i++) {
            LONG.set(region, slotOffset(region, i), empty(i));
        }
        INT.setRelease(region, (long) LAYOUT_VERSION_OFFSET, LAYOUT_VERSION);
    }

    /** The layout version, read with acquire semantics: 0 while the creator is still writing the header. */
    public static int getLayoutVersionAcquire(MemorySegment region) {
        return (int) INT.getAcquire(region, (long) LAYOUT_VERSION_OFFSET);
    }

    /** The magic number, {@link #MAGIC} in a queue. */
    public static int getMagic(MemorySegment region) {
        return (int) INT.get(region, (long) MAGIC_OFFSET);
    }

    /** The number of slots, fixed at creation. */
    public static int getCapacity(MemorySegment region) {
        return (int) INT.get(region, (long) CAPACITY_OFFSET);
    }

    /** Bytes between consecutive slots, fixed at creation. */
    public static int getSlotStride(MemorySegment region) {
        return (int) INT.get(region, (long) SLOT_STRIDE_OFFSET);
    }

    /** The largest message a slot holds, fixed at creation. */
    public static int getMaxMessageBytes(MemorySegment region) {
        return (int) INT.get(region, (long) MAX_MESSAGE_BYTES_OFFSET);
    }

    // ---- head and tail

    /** The next position producers claim; a hint that never runs ahead of a claim. */
    public static long getTailVolatile(MemorySegment region) {
        return (long) LONG.getVolatile(region, (long) TAIL_OFFSET);
    }

    /** The next position consumers claim; a hint that never runs ahead of a claim. */
    public static long getHeadVolatile(MemorySegment region) {
        return (long) LONG.getVolatile(region, (long) HEAD_OFFSET);
    }

    /** Moves the tail from {@code from} to {@code from + 1}; false if someone else moved it. */
    public static boolean casTail(MemorySegment region, long from) {
        return LONG.compareAndSet(region, (long) TAIL_OFFSET, from, from + 1);
    }

    /** Moves the head from {@code from} to {@code from + 1}; false if someone else moved it. */
    public static boolean casHead(MemorySegment region, long from) {
        return LONG.compareAndSet(region, (long) HEAD_OFFSET, from, from + 1);
    }

    // ---- wait words (at NOT_EMPTY_WAIT_OFFSET and NOT_FULL_WAIT_OFFSET)

    /** Offset, from a wait word's, of its epoch int: the futex word (the high half of the long). */
    public static final int WAIT_EPOCH_OFFSET = java.nio.ByteOrder.nativeOrder() == java.nio.ByteOrder.LITTLE_ENDIAN
            ? 4 : 0;

    /** A wait word, read with volatile semantics. */
    public static long getWaitWordVolatile(MemorySegment region, long offset) {
        return (long) LONG.getVolatile(region, offset);
    }

    /** Adds {@code delta} to a wait word atomically (a full fence); returns the old value. */
    public static long getAndAddWaitWord(MemorySegment region, long offset, long delta) {
        return (long) LONG.getAndAdd(region, offset, delta);
    }

    /** Swaps a wait word (volatile semantics); false if it was not {@code expected}. */
    public static boolean casWaitWord(MemorySegment region, long offset, long expected, long value) {
        return LONG.compareAndSet(region, offset, expected, value);
    }

    /** Sets a wait word (tests simulate a waiter killed while counted with it). */
    public static void putWaitWordVolatile(MemorySegment region, long offset, long value) {
        LONG.setVolatile(region, offset, value);
    }

    /** The epoch of a wait word. */
    public static int waitEpoch(long word) {
        return (int) (word >>> 32);
    }

    /** The number of callers registered to sleep in a wait word's epoch. */
    public static int waitCount(long word) {
        return (int) word;
    }

    /** The wait word of {@code word}'s next epoch, with nobody registered. */
    public static long nextWaitEpoch(long word) {
        return (long) (waitEpoch(word) + 1) << 32;
    }

    // ---- process table

    /** Offset of process-table slot {@code index}. */
    public static long processSlotOffset(int index) {
        return PROCESS_TABLE_OFFSET + 8L * index;
    }

    /** The identity in process-table slot {@code index} (see {@link ProcessIds}), 0 if free. */
    public static long getProcessVolatile(MemorySegment region, int index) {
        return (long) LONG.getVolatile(region, processSlotOffset(index));
    }

    /** Swaps the identity in process-table slot {@code index}; false if it was not {@code expected}. */
    public static boolean casProcess(MemorySegment region, int index, long expected, long value) {
        return LONG.compareAndSet(region, processSlotOffset(index), expected, value);
    }

    // ---- slots

    /** Offset of slot {@code index} (0 to capacity - 1). */
    public static long slotOffset(MemorySegment region, int index) {
        return SLOTS_OFFSET + (long) index * getSlotStride(region);
    }

    /** A slot's state word, read with acquire semantics (what it publishes is visible after). */
    public static long getStateAcquire(MemorySegment region, long slotOffset) {
        return (long) LONG.getAcquire(region, slotOffset + SLOT_STATE_OFFSET);
    }

    /** Writes a slot's state word with release semantics (after the payload and length it publishes). */
    public static void putStateRelease(MemorySegment region, long slotOffset, long state) {
        LONG.setRelease(region, slotOffset + SLOT_STATE_OFFSET, state);
    }

    /** Swaps a slot's state word (volatile semantics); false if it was not {@code expected}. */
    public static boolean casState(MemorySegment region, long slotOffset, long expected, long value) {
        return LONG.compareAndSet(region, slotOffset + SLOT_STATE_OFFSET, expected, value);
    }

    /** A slot's message length; read only after acquiring a FULL state. */
    public static int getLength(MemorySegment region, long slotOffset) {
        return (int) INT.get(region, slotOffset + SLOT_LENGTH_OFFSET);
    }

    /** Sets a slot's message length; only its claimer, before publishing FULL. */
    public static void putLength(MemorySegment region, long slotOffset, int length) {
        INT.set(region, slotOffset + SLOT_LENGTH_OFFSET, length);
    }

    // ---- state words

    /** The state of a slot that a producer of {@code position} may claim. */
    public static long empty(long position) {
        return word(position, 0, KIND_EMPTY);
    }

    /** The state of a slot that producer {@code owner} claimed for {@code position}. */
    public static long writing(long position, int owner) {
        return word(position, owner, KIND_WRITING);
    }

    /** The state of a slot holding the published message of {@code position}. */
    public static long full(long position) {
        return word(position, 0, KIND_FULL);
    }

    /** The state of a slot whose message consumer {@code owner} claimed. */
    public static long reading(long position, int owner) {
        return word(position, owner, KIND_READING);
    }

    static long word(long position, int owner, int kind) {
        return ((position & POSITION_MASK) << POSITION_SHIFT) | ((long) owner << KIND_BITS) | kind;
    }

    /** The kind bits of a state word: {@link #KIND_EMPTY} .. {@link #KIND_READING}. */
    public static int kind(long state) {
        return (int) (state & ((1 << KIND_BITS) - 1));
    }

    /** The process-table index in a WRITING or READING state word (meaningless in the others). */
    public static int owner(long state) {
        return (int) ((state >>> KIND_BITS) & ((1 << OWNER_BITS) - 1));
    }

    /**
     * How far the state's position lies after {@code position}, modulo 2^52 and sign-extended: 0 for the same
     * lap, {@code capacity} for the next one, {@code -capacity} for the previous one.
     */
    public static long distance(long state, long position) {
        long diff = ((state >>> POSITION_SHIFT) - position) & POSITION_MASK;
        return (diff << POSITION_SHIFT) >> POSITION_SHIFT;
    }
}
