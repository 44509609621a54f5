package dev.tessera.distributed.internal.collective;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The bytes of a same-host collective group's shared segment. Stateless and thread-safe; the segment belongs to the
 * {@link ShmEngine}s of the group (one reference each).
 *
 * <pre>
 *   0                 long magic, then int ranks, int 0, long slotBytes       (written by the creator)
 *   64 + 128 i        rank i's control line: long phase (release/acquire)
 *   64 + 128 i + 64   long pid of rank i's process (0 until it attached)      (own cache line)
 *   headers()         2 parities x ranks x {@value OpHeader#BYTES}-byte {@link OpHeader}s
 *   data()            2 parities x ranks x slotBytes of data, 4096-aligned
 * </pre>
 *
 * <p>Protocol: rank i writes only its control line, its headers and, except in a scatter's root and a reduction's own
 * part, its own slots; it publishes a step by raising its phase with release semantics, and reads the others' data
 * only after it has seen every phase reach that step (acquire). Rounds alternate between the two parities, so a rank
 * may fill its slot for round n+2 as soon as it passed the first step of round n+1: by then every rank finished
 * reading round n.
 */
final class ShmLayout {
    static final long MAGIC = 0x7e55c0113c7e0001L;
    private static final long CONTROL = 64;
    private static final long LINE = 128;
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final int ranks;
    private final long slotBytes;
    private final long headers;
    private final long data;

    ShmLayout(int ranks, long slotBytes) {
        this.ranks = ranks;
        this.slotBytes = slotBytes;
        this.headers = CONTROL + LINE * ranks;
        this.data = align(headers + 2L * ranks * OpHeader.BYTES, 4096);
    }

    static long align(long v, long a) {
        return (v + a - 1) / a * a;
    }

    /** Bytes the segment's data must hold. */
    long size() {
        return data + 2L * ranks * slotBytes;
    }

    long slotBytes() {
        return slotBytes;
    }

    /** Writes the creator's fields of a new segment. */
    void format(MemorySegment s) {
        s.set(ValueLayout.JAVA_INT, 8, ranks);
        s.set(ValueLayout.JAVA_LONG, 16, slotBytes);
        LONG.setRelease(s, 0L, MAGIC);
    }

    /** Checks an opened segment against this layout. */
    void check(MemorySegment s, String what) {
        long magic = (long) LONG.getAcquire(s, 0L);
        if (magic != MAGIC || s.get(ValueLayout.JAVA_INT, 8) != ranks || s.get(ValueLayout.JAVA_LONG, 16) != slotBytes
                || s.byteSize() < size()) {
            throw new IllegalStateException(what + ": the shared segment is not a collective segment of " + ranks
                    + " ranks with slots of " + slotBytes + " bytes (magic " + Long.toHexString(magic) + ")");
        }
    }

    long phaseAcquire(MemorySegment s, int rank) {
        return (long) LONG.getAcquire(s, CONTROL + LINE * rank);
    }

    void phaseRelease(MemorySegment s, int rank, long phase) {
        LONG.setRelease(s, CONTROL + LINE * rank, phase);
    }

    long pid(MemorySegment s, int rank) {
        return (long) LONG.getAcquire(s, CONTROL + LINE * rank + 64);
    }

    void pid(MemorySegment s, int rank, long pid) {
        LONG.setRelease(s, CONTROL + LINE * rank + 64, pid);
    }

    long header(int parity, int rank) {
        return headers + (long) (parity * ranks + rank) * OpHeader.BYTES;
    }

    long slot(int parity, int rank) {
        return data + (parity * ranks + rank) * slotBytes;
    }
}
