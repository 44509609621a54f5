package dev.tessera.sharedmem.store;

import static dev.tessera.sharedmem.store.StoreIndexDescriptor.*;

import dev.tessera.sharedmem.internal.ProcessLiveness;
import dev.tessera.sharedmem.internal.SegmentFiles;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Operations on a store index laid out by {@link StoreIndexDescriptor}: the cross-process lock, the seqlock
 * that readers use, the hash table and the redo record. Thread-safe (all state is in the shared mapping);
 * it owns nothing, the caller keeps the mapping alive.
 *
 * <p>Algorithm. Writers serialise on a CAS spin lock in the mapping whose word names the holder's pid. A
 * waiter that finds the holder dead (pid gone, or reused by a process with another start time) takes the
 * lock over with a CAS on the exact word it saw, then {@linkplain #repair() repairs} the index: a change the
 * dead holder had announced in the intent record is applied again, and the sequence number is made even.
 * Every change of the table is one entry image plus three counters, written through that intent record, so a
 * crash at any instruction leaves the table either before or after the change. Readers take no lock: they
 * read the sequence number, copy what they need, and read it again; an odd or changed number means a writer
 * was active and they retry. A reader that waits on an odd number for long checks whether the lock holder
 * died and, if so, repairs the index itself.
 *
 * <p>Keys hash with FNV-1a plus a murmur finaliser; a slot of the table is found by linear probing, removed
 * keys leave tombstones that inserts reuse.
 */
final class StoreIndex {
    private static final Logger LOG = LoggerFactory.getLogger(StoreIndex.class);
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final long LIVENESS_CHECK_NANOS = 1_000_000;

    private final MemorySegment data;
    private final String storeName;
    private final long lockTimeoutNanos;

    /**
     * @param data the data region of the index segment
     * @param storeName for messages
     * @param lockTimeoutNanos how long to wait for a lock that a live process holds before giving up
     */
    public StoreIndex(MemorySegment data, String storeName, long lockTimeoutNanos) {
        this.data = data;
        this.storeName = storeName;
        this.lockTimeoutNanos = lockTimeoutNanos;
    }

    /** Writes the fixed fields of a fresh (zero-filled) index; call before the segment is published. */
    public static void initialize(MemorySegment data, int capacity) {
        if (data.byteSize() < dataBytes(capacity)) {
            throw new IllegalArgumentException("index region of " + data.byteSize() + " bytes cannot hold "
                    + capacity + " entries");
        }
        data.set(ValueLayout.JAVA_LONG, MAGIC_OFFSET, MAGIC);
        data.set(ValueLayout.JAVA_INT, FORMAT_OFFSET, FORMAT_VERSION);
        data.set(ValueLayout.JAVA_INT, ENTRY_LENGTH_OFFSET, ENTRY_LENGTH);
        data.set(ValueLayout.JAVA_LONG, CAPACITY_OFFSET, capacity);
    }

    /** Checks that a published segment's data region is a store index this code can read. */
    public static void checkLayout(MemorySegment data, String what) {
        if (data.byteSize() < ENTRIES_OFFSET || data.get(ValueLayout.JAVA_LONG, MAGIC_OFFSET) != MAGIC
                || data.get(ValueLayout.JAVA_INT, FORMAT_OFFSET) != FORMAT_VERSION
                || data.get(ValueLayout.JAVA_INT, ENTRY_LENGTH_OFFSET) != ENTRY_LENGTH) {
            throw new IllegalStateException(what + " is not a store index of format " + FORMAT_VERSION);
        }
        long capacity = data.get(ValueLayout.JAVA_LONG, CAPACITY_OFFSET);
        if (capacity < 1 || capacity > MAX_CAPACITY || dataBytes((int) capacity) > data.byteSize()) {
            throw new IllegalStateException(what + " has a corrupt capacity " + capacity + " for "
                    + data.byteSize() + " bytes");
        }
    }

    public int capacity() {
        return (int) data.get(ValueLayout.JAVA_LONG, CAPACITY_OFFSET);
    }

    // ---------------------------------------------------------------------------------------------- lock

    /** Takes the lock, taking it over (and repairing the index) if its holder died. */
    public void lock() {
        long mine = ((long) ProcessLiveness.selfPid() << 32);
        long deadline = System.nanoTime() + lockTimeoutNanos;
        long nextLivenessCheck = System.nanoTime() + LIVENESS_CHECK_NANOS;
        for (int spins = 0; ; spins++) {
            long word = (long) LONG.getVolatile(data, (long) LOCK_OFFSET);
            long acquisition = (data.get(ValueLayout.JAVA_LONG, LOCK_ACQUISITIONS_OFFSET) + 1) & 0xFFFF_FFFFL;
            long next = mine | acquisition;
            if (word == 0) {
                if (LONG.compareAndSet(data, (long) LOCK_OFFSET, 0L, next)) {
                    acquired(acquisition);
                    return;
                }
                continue;
            }
            long now = System.nanoTime();
            if (now - nextLivenessCheck >= 0) {
                nextLivenessCheck = now + LIVENESS_CHECK_NANOS;
                if (!holderAlive(word)) {
                    if (LONG.compareAndSet(data, (long) LOCK_OFFSET, word, next)) {
                        LOG.warn("store '{}': took over the lock of dead process {} and repaired the index",
                                storeName, word >>> 32);
                        acquired(acquisition);
                        return;
                    }
                    continue;
                }
                if (now - deadline >= 0) {
                    throw new IllegalStateException("store '" + storeName + "' is locked by live process "
                            + (word >>> 32) + " for more than " + lockTimeoutNanos / 1_000_000 + " ms; "
                            + "it may be stuck (raise the timeout with SharedStore.Builder.optLockTimeout)");
                }
            }
            backOff(spins);
        }
    }

    private void acquired(long acquisition) {
        data.set(ValueLayout.JAVA_LONG, LOCK_ACQUISITIONS_OFFSET, acquisition);
        LONG.setRelease(data, (long) LOCK_OWNER_START_OFFSET, ProcessLiveness.selfStartMillis());
        repair();
    }

    /** Releases the lock; the caller must hold it. */
    public void unlock() {
        LONG.setRelease(data, (long) LOCK_OWNER_START_OFFSET, 0L);
        LONG.setRelease(data, (long) LOCK_OFFSET, 0L);
    }

    /** The pid holding the lock, or 0. */
    public int lockHolderPid() {
        return (int) ((long) LONG.getVolatile(data, (long) LOCK_OFFSET) >>> 32);
    }

    private boolean holderAlive(long word) {
        long start = (long) LONG.getAcquire(data, (long) LOCK_OWNER_START_OFFSET);
        return ProcessLiveness.isAlive(word >>> 32, start);
    }

    private static void backOff(int spins) {
        if (spins < 64) {
            Thread.onSpinWait();
        } else if (spins < 128) {
            Thread.yield();
        } else {
            LockSupport.parkNanos(Math.min(1_000_000L, 1_000L << Math.min(10, (spins - 128) / 16)));
        }
    }

    /**
     * Brings the index back to a consistent state after a holder died: applies an announced change again
     * and makes the sequence number even. The caller holds the lock. Does nothing on a consistent index.
     */
    private void repair() {
        boolean pending = (long) LONG.getAcquire(data, (long) INTENT_VALID_OFFSET) != 0;
        long seq = (long) LONG.getVolatile(data, (long) SEQUENCE_OFFSET);
        if (!pending && (seq & 1) == 0) {
            return;
        }
        if ((seq & 1) == 0) {
            LONG.getAndAdd(data, (long) SEQUENCE_OFFSET, 1L);
        }
        if (pending) {
            applyIntent();
            LONG.setRelease(data, (long) INTENT_VALID_OFFSET, 0L);
        }
        LONG.getAndAdd(data, (long) SEQUENCE_OFFSET, 1L);
    }

    // ------------------------------------------------------------------------------------------ writers

    /**
     * Replaces entry {@code slot} with {@code image} (ENTRY_LENGTH bytes; its version field is set here) and
     * sets the live and tombstone counts, crash-atomically. The caller holds the lock. Returns the version.
     */
    public long commit(long slot, byte[] image, long live, long tombstones) {
        checkSlot(slot);
        if (image.length != ENTRY_LENGTH) {
            throw new IllegalArgumentException("entry image of " + image.length + " bytes");
        }
        long version = announce(slot, image, live, tombstones);
        applyIntent();
        LONG.setRelease(data, (long) INTENT_VALID_OFFSET, 0L);
        LONG.setRelease(data, (long) SEQUENCE_OFFSET, (long) LONG.getVolatile(data, (long) SEQUENCE_OFFSET) + 1);
        return version;
    }

    /**
     * Test support: announces a change in the intent record and marks the index as being written, exactly as
     * {@link #commit} does before applying it, without applying it. A process that dies right after this
     * leaves the state a crash in the middle of a change leaves. The caller holds the lock.
     */
    public void announceForTest(long slot, byte[] image, long live, long tombstones) {
        announce(slot, image, live, tombstones);
    }

    /**
     * Writes the change into the intent record, marks it valid and makes the sequence odd (readers retry; the
     * atomic add is a full fence before the entry writes). Returns the change's version.
     */
    private long announce(long slot, byte[] image, long live, long tombstones) {
        long version = data.get(ValueLayout.JAVA_LONG, MOD_COUNT_OFFSET) + 1;
        MemorySegment intent = data.asSlice(INTENT_IMAGE_OFFSET, ENTRY_LENGTH);
        MemorySegment.copy(MemorySegment.ofArray(image), 0, intent, 0, ENTRY_LENGTH);
        intent.set(ValueLayout.JAVA_LONG, E_VERSION, version);
        data.set(ValueLayout.JAVA_LONG, INTENT_SLOT_OFFSET, slot);
        data.set(ValueLayout.JAVA_LONG, INTENT_LIVE_OFFSET, live);
        data.set(ValueLayout.JAVA_LONG, INTENT_TOMBSTONES_OFFSET, tombstones);
        data.set(ValueLayout.JAVA_LONG, INTENT_MOD_COUNT_OFFSET, version);
        LONG.setRelease(data, (long) INTENT_VALID_OFFSET, 1L);
        LONG.getAndAdd(data, (long) SEQUENCE_OFFSET, 1L);
        return version;
    }

    private void applyIntent() {
        long slot = data.get(ValueLayout.JAVA_LONG, INTENT_SLOT_OFFSET);
        checkSlot(slot);
        MemorySegment.copy(data, INTENT_IMAGE_OFFSET, data, entryOffset(slot), ENTRY_LENGTH);
        data.set(ValueLayout.JAVA_LONG, LIVE_OFFSET, data.get(ValueLayout.JAVA_LONG, INTENT_LIVE_OFFSET));
        data.set(ValueLayout.JAVA_LONG, TOMBSTONES_OFFSET, data.get(ValueLayout.JAVA_LONG, INTENT_TOMBSTONES_OFFSET));
        data.set(ValueLayout.JAVA_LONG, MOD_COUNT_OFFSET, data.get(ValueLayout.JAVA_LONG, INTENT_MOD_COUNT_OFFSET));
    }

    private void checkSlot(long slot) {
        if (slot < 0 || slot >= capacity()) {
            throw new IllegalStateException("store '" + storeName + "': slot " + slot + " outside 0.." + capacity());
        }
    }

    /** Live entries; exact for a lock holder, a snapshot otherwise. */
    public long live() {
        return data.get(ValueLayout.JAVA_LONG, LIVE_OFFSET);
    }

    public long tombstones() {
        return data.get(ValueLayout.JAVA_LONG, TOMBSTONES_OFFSET);
    }

    /**
     * Where {@code key} is ({@code found}, or -1) and where it would go ({@code insertAt}: the first tombstone
     * or empty slot on its probe path, or -1 if there is none). Exact for a lock holder; readers call it inside
     * {@link #read}.
     */
    public Probe probe(byte[] key, int hash) {
        int capacity = capacity();
        long insertAt = -1;
        MemorySegment keySegment = MemorySegment.ofArray(key);
        long start = Math.floorMod(hash, capacity);
        for (int i = 0; i < capacity; i++) {
            long slot = (start + i) % capacity;
            long e = entryOffset(slot);
            int state = data.get(ValueLayout.JAVA_INT, e + E_STATE);
            if (state == STATE_EMPTY) {
                return new Probe(-1, insertAt >= 0 ? insertAt : slot);
            }
            if (state == STATE_TOMBSTONE) {
                insertAt = insertAt >= 0 ? insertAt : slot;
            } else if (data.get(ValueLayout.JAVA_INT, e + E_HASH) == hash
                    && data.get(ValueLayout.JAVA_INT, e + E_KEY_LENGTH) == key.length
                    && MemorySegment.mismatch(data, e + E_KEY, e + E_KEY + key.length, keySegment, 0, key.length) < 0) {
                return new Probe(slot, insertAt);
            }
        }
        return new Probe(-1, insertAt);
    }

    /** The result of {@link #probe}. */
    public record Probe(long found, long insertAt) {}

    /** A copy of entry {@code slot}'s bytes. */
    public byte[] entryImage(long slot) {
        checkSlot(slot);
        return data.asSlice(entryOffset(slot), ENTRY_LENGTH).toArray(ValueLayout.JAVA_BYTE);
    }

    // ------------------------------------------------------------------------------------------ readers

    /**
     * Runs {@code body} (which must only read the index and copy what it needs) until it ran while no writer
     * changed the index, and returns its result. A body that throws on torn data is retried too.
     */
    public <R> R read(Supplier<R> body) {
        while (true) {
            long before = (long) LONG.getAcquire(data, (long) SEQUENCE_OFFSET);
            if ((before & 1) != 0) {
                awaitWriter();
                continue;
            }
            R result;
            try {
                result = body.get();
            } catch (RuntimeException e) {
                VarHandle.acquireFence();
                if ((long) LONG.getVolatile(data, (long) SEQUENCE_OFFSET) == before) {
                    throw e;
                }
                continue;
            }
            VarHandle.acquireFence();
            if ((long) LONG.getVolatile(data, (long) SEQUENCE_OFFSET) == before) {
                return result;
            }
        }
    }

    /** Waits while the sequence number is odd; repairs the index if the writer died. */
    private void awaitWriter() {
        long deadline = System.nanoTime() + lockTimeoutNanos;
        long nextLivenessCheck = System.nanoTime() + LIVENESS_CHECK_NANOS;
        for (int spins = 0; ((long) LONG.getVolatile(data, (long) SEQUENCE_OFFSET) & 1) != 0; spins++) {
            long now = System.nanoTime();
            if (now - nextLivenessCheck >= 0) {
                nextLivenessCheck = now + LIVENESS_CHECK_NANOS;
                long word = (long) LONG.getVolatile(data, (long) LOCK_OFFSET);
                if (word == 0 || !holderAlive(word)) {
                    lock(); // takes over from the dead writer and repairs, or finds a consistent index
                    unlock();
                    return;
                }
                if (now - deadline >= 0) {
                    throw new IllegalStateException("store '" + storeName + "' is being written by live process "
                            + (word >>> 32) + " for more than " + lockTimeoutNanos / 1_000_000 + " ms");
                }
            }
            backOff(spins);
        }
    }

    /** The entry for {@code key}, or null; a consistent snapshot. */
    public byte[] lookup(byte[] key, int hash) {
        return read(() -> {
            long slot = probe(key, hash).found();
            return slot < 0 ? null : entryImage(slot);
        });
    }

    /** Every live entry's image, a consistent snapshot. */
    public List<byte[]> liveEntries() {
        return read(() -> {
            List<byte[]> out = new ArrayList<>();
            int capacity = capacity();
            for (long slot = 0; slot < capacity; slot++) {
                if (data.get(ValueLayout.JAVA_INT, entryOffset(slot) + E_STATE) == STATE_LIVE) {
                    out.add(entryImage(slot));
                }
            }
            return out;
        });
    }

    /** The number of live entries, a consistent snapshot. */
    public long size() {
        return read(this::live);
    }

    /** The sequence number (even when no writer is active); tells whether a snapshot is still current. */
    public long sequenceVolatile() {
        return (long) LONG.getVolatile(data, (long) SEQUENCE_OFFSET);
    }

    // ------------------------------------------------------------------------------------------- entries

    /** An entry's key. */
    public static String keyOf(byte[] image) {
        int length = Math.clamp(intAt(image, E_KEY_LENGTH), 0, MAX_KEY_BYTES);
        return new String(image, E_KEY, length, StandardCharsets.UTF_8);
    }

    public static int stateOf(byte[] image) {
        return intAt(image, E_STATE);
    }

    public static byte kindOf(byte[] image) {
        return image[E_KIND];
    }

    public static long versionOf(byte[] image) {
        return longAt(image, E_VERSION);
    }

    public static long valueLengthOf(byte[] image) {
        return longAt(image, E_VALUE_LENGTH);
    }

    /** The value segment's name bits (16 bytes); meaningful for tensor and segment kinds. */
    public static byte[] segmentNameBitsOf(byte[] image) {
        byte[] bits = new byte[SegmentFiles.NAME_BITS / 8];
        System.arraycopy(image, E_SEGMENT_NAME, bits, 0, bits.length);
        return bits;
    }

    public static long segmentGenerationOf(byte[] image) {
        return longAt(image, E_SEGMENT_GENERATION);
    }

    /** Whether the entry's value lives in a segment of its own. */
    public static boolean hasSegment(byte[] image) {
        byte kind = kindOf(image);
        return kind == KIND_TENSOR || kind == KIND_SEGMENT;
    }

    public static int dtypeCodeOf(byte[] image) {
        return image[E_DTYPE];
    }

    /** The tensor shape in a tensor entry's payload. */
    public static long[] shapeOf(byte[] image) {
        int rank = Byte.toUnsignedInt(image[E_RANK]);
        long[] shape = new long[rank];
        for (int i = 0; i < rank; i++) {
            shape[i] = longAt(image, E_PAYLOAD + 8 * i);
        }
        return shape;
    }

    /** The inline value bytes of an inline entry. */
    public static byte[] inlineBytesOf(byte[] image) {
        int length = Math.clamp(valueLengthOf(image), 0, MAX_INLINE_BYTES);
        byte[] bytes = new byte[length];
        System.arraycopy(image, E_PAYLOAD, bytes, 0, length);
        return bytes;
    }

    /** A live entry image; {@code payload} holds inline bytes or, for tensors, the shape as longs. */
    public static byte[] liveImage(byte[] key, int hash, byte kind, int dtypeCode, int rank, byte[] segmentNameBits,
            long segmentGeneration, long valueLength, byte[] payload) {
        if (key.length > MAX_KEY_BYTES || payload.length > MAX_INLINE_BYTES) {
            throw new IllegalArgumentException("key of " + key.length + " bytes or payload of " + payload.length
                    + " bytes too long");
        }
        byte[] image = new byte[ENTRY_LENGTH];
        MemorySegment s = MemorySegment.ofArray(image);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, E_STATE, STATE_LIVE);
        s.set(ValueLayout.JAVA_BYTE, E_KIND, kind);
        s.set(ValueLayout.JAVA_BYTE, E_DTYPE, (byte) dtypeCode);
        s.set(ValueLayout.JAVA_BYTE, E_RANK, (byte) rank);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, E_HASH, hash);
        s.set(ValueLayout.JAVA_INT_UNALIGNED, E_KEY_LENGTH, key.length);
        if (segmentNameBits != null) {
            System.arraycopy(segmentNameBits, 0, image, E_SEGMENT_NAME, segmentNameBits.length);
        }
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, E_SEGMENT_GENERATION, segmentGeneration);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, E_VALUE_LENGTH, valueLength);
        System.arraycopy(key, 0, image, E_KEY, key.length);
        System.arraycopy(payload, 0, image, E_PAYLOAD, payload.length);
        return image;
    }

    /** The image of a removed entry. */
    public static byte[] tombstoneImage() {
        byte[] image = new byte[ENTRY_LENGTH];
        MemorySegment.ofArray(image).set(ValueLayout.JAVA_INT_UNALIGNED, E_STATE, STATE_TOMBSTONE);
        return image;
    }

    /** The hash of a key's UTF-8 bytes: FNV-1a, then murmur3's finaliser for the low bits. */
    public static int hash(byte[] key) {
        int h = 0x811C9DC5;
        for (byte b : key) {
            h = (h ^ (b & 0xFF)) * 0x01000193;
        }
        h ^= h >>> 16;
        h *= 0x85EBCA6B;
        h ^= h >>> 13;
        h *= 0xC2B2AE35;
        return h ^ (h >>> 16);
    }

    // ------------------------------------------------------------------------------------------ unlink

    /**
     * Claims the right to unlink this (released) index file; exactly one caller ever gets true. Whoever wins
     * knows that the file at the store's path is still this one: nobody else unlinks it, and no new store of
     * that name can be created until it is gone.
     */
    public static boolean claimUnlink(MemorySegment data) {
        return LONG.compareAndSet(data, (long) UNLINK_CLAIM_OFFSET, 0L, 1L);
    }

    private static int intAt(byte[] image, int offset) {
        return MemorySegment.ofArray(image).get(ValueLayout.JAVA_INT_UNALIGNED, offset);
    }

    private static long longAt(byte[] image, int offset) {
        return MemorySegment.ofArray(image).get(ValueLayout.JAVA_LONG_UNALIGNED, offset);
    }
}
