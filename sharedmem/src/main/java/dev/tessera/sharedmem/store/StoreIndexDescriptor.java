package dev.tessera.sharedmem.store;

/**
 * The layout of a {@code SharedStore} index: the data region of a segment flagged
 * {@link SegmentDescriptor#FLAG_STORE_INDEX}. Constants only; {@link StoreIndex} is the only code that reads or
 * writes these bytes. Offsets are relative to the data region (the segment header comes before it).
 *
 * <pre>
 *   0        8        12       16       24                                        64
 *   +--------+--------+--------+--------+------------------------------------------+  line 0: written once
 *   | magic  | format | entry  |capacity|  (padding)                               |  before publication
 *   |        | version| length |        |                                          |
 *   +--------+--------+--------+--------+------------------------------------------+
 *   64       72               80               88               96               128
 *   +--------+----------------+----------------+----------------+------------------+  line 1: CAS by writers
 *   | lock   | lock owner     | acquisitions   | unlink claim   |  (padding)       |
 *   | word   | start ms       |                |                |                  |
 *   +--------+----------------+----------------+----------------+------------------+
 *   128: sequence (odd while a writer changes entries)                          192    line 2: seqlock
 *   192: live count | tombstone count | modification count                     256    line 3: lock holder
 *   256: intent: valid | slot | live | tombstones | modification count         320    redo record of the
 *   320: intent image (ENTRY_LENGTH bytes)                                      832    change in progress
 *   1024: capacity entries of ENTRY_LENGTH bytes
 * </pre>
 *
 * <p>One entry (a slot of an open-addressing hash table with linear probing):
 *
 * <pre>
 *   0      4    5     6    7    8      12       16        24              40          48          56   64
 *   +------+----+-----+----+----+------+--------+---------+---------------+-----------+-----------+----+
 *   |state |kind|dtype|rank|    | hash | key    | version | value segment | segment   | value     |    |
 *   |      |    |     |    |    |      | length |         | name (16 B)   | generation| length    |    |
 *   +------+----+-----+----+----+------+--------+---------+---------------+-----------+-----------+----+
 *   64: key (MAX_KEY_BYTES, UTF-8)    192: payload (MAX_INLINE_BYTES): inline value bytes, or tensor shape
 * </pre>
 *
 * <p>The lock word is {@code pid << 32 | acquisition number} of its holder (0 when free), so a waiter can
 * tell a dead holder (checked by pid and start time) and take the lock over with a CAS on the exact word
 * it saw. Every change of entries goes through the intent record: the holder writes the new entry image
 * and counters there, marks it valid, applies it and clears it. A holder that dies mid-change leaves either
 * nothing or a valid intent, which the next holder applies again (the image holds absolute values, so
 * applying twice is harmless). The sequence number makes the entries a seqlock for readers, which never
 * take the lock.
 */
final class StoreIndexDescriptor {
    /** "TSSTORE1" as a little-endian long. */
    public static final long MAGIC = 0x3145_524F_5453_5354L;
    public static final int FORMAT_VERSION = 1;

    public static final int MAGIC_OFFSET = 0;
    public static final int FORMAT_OFFSET = 8;
    public static final int ENTRY_LENGTH_OFFSET = 12;
    public static final int CAPACITY_OFFSET = 16;

    public static final int LOCK_OFFSET = 64;
    public static final int LOCK_OWNER_START_OFFSET = 72;
    public static final int LOCK_ACQUISITIONS_OFFSET = 80;
    public static final int UNLINK_CLAIM_OFFSET = 88;

    public static final int SEQUENCE_OFFSET = 128;

    public static final int LIVE_OFFSET = 192;
    public static final int TOMBSTONES_OFFSET = 200;
    public static final int MOD_COUNT_OFFSET = 208;

    public static final int INTENT_VALID_OFFSET = 256;
    public static final int INTENT_SLOT_OFFSET = 264;
    public static final int INTENT_LIVE_OFFSET = 272;
    public static final int INTENT_TOMBSTONES_OFFSET = 280;
    public static final int INTENT_MOD_COUNT_OFFSET = 288;
    public static final int INTENT_IMAGE_OFFSET = 320;

    public static final int ENTRIES_OFFSET = 1024;
    public static final int ENTRY_LENGTH = 512;

    public static final int E_STATE = 0;
    public static final int E_KIND = 4;
    public static final int E_DTYPE = 5;
    public static final int E_RANK = 6;
    public static final int E_HASH = 8;
    public static final int E_KEY_LENGTH = 12;
    public static final int E_VERSION = 16;
    public static final int E_SEGMENT_NAME = 24;
    public static final int E_SEGMENT_GENERATION = 40;
    public static final int E_VALUE_LENGTH = 48;
    public static final int E_KEY = 64;
    public static final int E_PAYLOAD = 192;

    /** The longest key, in UTF-8 bytes. */
    public static final int MAX_KEY_BYTES = E_PAYLOAD - E_KEY;
    /** The largest value kept inside the index instead of in a segment of its own, in bytes. */
    public static final int MAX_INLINE_BYTES = ENTRY_LENGTH - E_PAYLOAD;

    public static final int STATE_EMPTY = 0;
    public static final int STATE_LIVE = 1;
    public static final int STATE_TOMBSTONE = 2;

    /** A tensor in a segment of its own; dtype, rank and shape (in the payload) describe it. */
    public static final byte KIND_TENSOR = 1;
    /** A {@code TensorCodec} message held in the payload. */
    public static final byte KIND_INLINE = 2;
    /** A {@code TensorCodec} message in a segment of its own. */
    public static final byte KIND_SEGMENT = 3;

    public static final int MAX_CAPACITY = 1 << 22;

    private StoreIndexDescriptor() {}

    /** Bytes of the data region of an index with {@code capacity} entries. */
    public static long dataBytes(int capacity) {
        checkCapacity(capacity);
        return ENTRIES_OFFSET + (long) capacity * ENTRY_LENGTH;
    }

    public static void checkCapacity(int capacity) {
        if (capacity < 1 || capacity > MAX_CAPACITY) {
            throw new IllegalArgumentException("capacity=" + capacity + " (expected 1.." + MAX_CAPACITY + " entries)");
        }
    }

    public static long entryOffset(long slot) {
        return ENTRIES_OFFSET + slot * ENTRY_LENGTH;
    }
}
