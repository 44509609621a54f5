package dev.tessera.distributed.internal.collective;

import dev.tessera.distributed.MemberLostException;
import dev.tessera.distributed.ReduceOp;
import dev.tessera.distributed.internal.collective.OpHeader.Op;
import dev.tessera.sharedmem.SharedSegment;
import dev.tessera.sharedmem.internal.ProcessLiveness;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Collectives of ranks on one host through one shared segment ({@link ShmLayout}): every rank copies its chunk into
 * its own slot, raises its phase word, and once all phases reached the step reads its peers' slots in place.
 *
 * <p>All-reduce of a chunk: small chunks ({@value #SMALL_BYTES} bytes or less) are reduced whole by every rank
 * straight from the slots (one step); larger ones are reduce-scattered (rank i reduces part i of every slot into its
 * own slot) and then all-gathered (every rank copies part j from rank j's slot): two steps, and each rank touches
 * each byte about three times. Data larger than a slot goes in rounds of one slot.
 *
 * <p>Waits spin briefly, then yield, then park for growing intervals (up to {@value #MAX_PARK_MICROS} us); every
 * millisecond or so they check the deadline and the World's view, and every {@value #PID_CHECK_MILLIS} ms whether
 * the peers' processes are alive, so a killed peer ends the wait with {@link MemberLostException} well within 2 s.
 * Not thread-safe (one operation at a time); it owns one reference to the segment until {@link #close()}.
 */
public final class ShmEngine implements Engine {
    static final long SMALL_BYTES = 64 * 1024;
    private static final long MAX_PARK_MICROS = 100;
    private static final long PID_CHECK_MILLIS = 20;

    private final Peers peers;
    private final SharedSegment segment;
    private final MemorySegment s;
    private final ShmLayout layout;
    private final int k;
    private final int me;
    private final long[] pids;
    private long phase;
    private long round;

    /** Attaches to {@code segment} (this engine closes it) as group index {@code peers.self()}. */
    public ShmEngine(Peers peers, SharedSegment segment, long slotBytes) {
        this.peers = peers;
        this.segment = segment;
        this.s = segment.data();
        this.k = peers.size();
        this.me = peers.self();
        this.layout = new ShmLayout(k, slotBytes);
        this.pids = new long[k];
        layout.check(s, peers.describe("attaching"));
        layout.pid(s, me, ProcessHandle.current().pid());
    }

    /** A new segment, formatted, for a group of {@code ranks} with slots of {@code slotBytes}. */
    public static SharedSegment create(int ranks, long slotBytes) {
        ShmLayout l = new ShmLayout(ranks, slotBytes);
        SharedSegment seg = SharedSegment.builder().setSize(l.size()).build();
        l.format(seg.data());
        return seg;
    }

    @Override
    public String transport() {
        return "shared memory";
    }

    @Override
    public void reduce(CollBuffer buf, ReduceOp op, int root, String localError, Deadline d) {
        String err = localError != null ? localError : buf.dtype() == null ? null : Reductions.unsupported(buf.dtype());
        OpHeader h = OpHeader.of(root < 0 ? Op.ALL_REDUCE : Op.REDUCE, root, op, buf, err);
        boolean receives = root < 0 || root == me;
        inChunks(h, buf.byteSize(), err, d,
                (p, off, c) -> MemorySegment.copy(buf.source(), off, s, layout.slot(p, me), c),
                (p, off, c) -> {
                    if (c <= SMALL_BYTES || k == 1) {
                        if (receives) {
                            reduceAll(buf, op, p, 0, c, buf.target(), off, false);
                        }
                        return;
                    }
                    long es = buf.dtype().byteSize();
                    long lo = c / es * me / k * es;
                    long hi = c / es * (me + 1) / k * es;
                    reduceAll(buf, op, p, lo, hi - lo, s, layout.slot(p, me) + lo, true);
                    step(d);
                    if (receives) {
                        for (int q = 0; q < k; q++) {
                            long qlo = c / es * q / k * es;
                            long qhi = c / es * (q + 1) / k * es;
                            MemorySegment.copy(s, layout.slot(p, q) + qlo, buf.target(), off + qlo, qhi - qlo);
                        }
                    }
                });
    }

    /** One chunk's part of an operation, on the slots of parity {@code p}: bytes {@code [off, off+c)}. */
    @FunctionalInterface
    private interface ChunkStep {
        void run(int p, long off, long c);
    }

    /**
     * Runs an operation of {@code n} bytes chunk by chunk (a slot's worth each): every rank writes the header with
     * the first chunk, {@code publish}es into the slots (only if its header is valid), steps, checks the headers
     * after the first step, then {@code consume}s from the slots.
     */
    private void inChunks(OpHeader h, long n, String err, Deadline d, ChunkStep publish, ChunkStep consume) {
        long off = 0;
        do {
            long c = Math.min(layout.slotBytes(), n - off);
            int p = parity();
            if (off == 0) {
                h.write(s, layout.header(p, me));
            }
            if (h.valid()) {
                publish.run(p, off, c);
            }
            step(d);
            if (off == 0) {
                verifyFirst(p, err, d);
            }
            consume.run(p, off, c);
            off += c;
            round++;
        } while (off < n);
    }

    /**
     * Reduces bytes {@code [lo, lo+len)} of every rank's slot of parity {@code p} into {@code dst} at {@code at}.
     * The slots are combined in rank order, except that when {@code dst} is this rank's own slot that slot comes
     * first (it is overwritten by the first combination). Each element is reduced by one rank only, or by every rank
     * in the same order, so every rank ends with the same bits.
     */
    private void reduceAll(CollBuffer buf, ReduceOp op, int p, long lo, long len, MemorySegment dst, long at,
            boolean intoOwnSlot) {
        int first = intoOwnSlot ? me : 0;
        if (k == 1) {
            MemorySegment.copy(s, layout.slot(p, 0) + lo, dst, at, len);
        } else {
            int second = first == 0 ? 1 : 0;
            Reductions.combine(buf.dtype(), op, dst, at, s, layout.slot(p, first) + lo, s, layout.slot(p, second) + lo,
                    len);
            for (int q = 0; q < k; q++) {
                if (q != first && q != second) {
                    Reductions.combine(buf.dtype(), op, dst, at, dst, at, s, layout.slot(p, q) + lo, len);
                }
            }
        }
        if (op == ReduceOp.AVG) {
            Reductions.divide(buf.dtype(), dst, at, len, k);
        }
    }

    @Override
    public void broadcast(CollBuffer buf, int root, String localError, Deadline d) {
        OpHeader h = OpHeader.of(Op.BROADCAST, root, null, buf, localError);
        inChunks(h, buf.byteSize(), localError, d, (p, off, c) -> {
            if (me == root) {
                MemorySegment.copy(buf.source(), off, s, layout.slot(p, root), c);
            }
        }, (p, off, c) -> {
            if (me != root) {
                MemorySegment.copy(s, layout.slot(p, root), buf.target(), off, c);
            }
        });
    }

    @Override
    public void gather(CollBuffer[] out, CollBuffer in, int root, String localError, Deadline d) {
        OpHeader h = OpHeader.of(root < 0 ? Op.ALL_GATHER : Op.GATHER, root, null, in, localError);
        boolean receives = root < 0 || root == me;
        inChunks(h, in.byteSize(), localError, d,
                (p, off, c) -> MemorySegment.copy(in.source(), off, s, layout.slot(p, me), c),
                (p, off, c) -> {
                    if (receives) {
                        for (int q = 0; q < k; q++) {
                            MemorySegment.copy(s, layout.slot(p, q), out[q].target(), off, c);
                        }
                    }
                });
    }

    @Override
    public void scatter(CollBuffer out, CollBuffer[] in, int root, String localError, Deadline d) {
        OpHeader h = OpHeader.of(Op.SCATTER, root, null, out, localError);
        inChunks(h, out.byteSize(), localError, d, (p, off, c) -> {
            if (me == root) {
                for (int q = 0; q < k; q++) {
                    MemorySegment.copy(in[q].source(), off, s, layout.slot(p, q), c);
                }
            }
        }, (p, off, c) -> MemorySegment.copy(s, layout.slot(p, me), out.target(), off, c));
    }

    @Override
    public OpHeader[] agree(OpHeader mine, String localError, Deadline d) {
        // as the first round of a data operation whose verdict fails: header, step, the round counts, verify
        int p = parity();
        mine.write(s, layout.header(p, me));
        step(d);
        round++;
        return verify(p, localError, d);
    }

    @Override
    public void barrier(Deadline d) {
        int p = parity();
        OpHeader.of(Op.BARRIER, -1, null, null, null).write(s, layout.header(p, me));
        step(d);
        round++;
        verify(p, null, d);
    }

    private int parity() {
        return (int) (round & 1);
    }

    /** Checks every rank's header of parity {@code p}; throws the same verdict on every rank. */
    private OpHeader[] verify(int p, String localError, Deadline d) {
        OpHeader[] all = new OpHeader[k];
        for (int q = 0; q < k; q++) {
            all[q] = OpHeader.read(s, layout.header(p, q));
        }
        if (localError != null) {
            throw new IllegalArgumentException(d.what() + ": " + localError + " (every rank fails this collective)");
        }
        OpHeader.checkAgree(all, peers.ranks(), me, d.what());
        return all;
    }

    /** {@link #verify} in an operation's first round; on a verdict the round still counts, as on every rank. */
    private void verifyFirst(int p, String localError, Deadline d) {
        try {
            verify(p, localError, d);
        } catch (IllegalArgumentException e) {
            round++;
            throw e;
        }
    }

    /** Publishes the next step and waits until every rank reached it. */
    private void step(Deadline d) {
        long target = ++phase;
        layout.phaseRelease(s, me, target);
        long spins = 0;
        long nextCheck = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1);
        long nextPidCheck = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PID_CHECK_MILLIS);
        long park = 1_000;
        for (int q = 0; q < k; q++) {
            while (layout.phaseAcquire(s, q) < target) {
                spins++;
                if (spins < 200) {
                    Thread.onSpinWait();
                    continue;
                } else if (spins < 220) {
                    Thread.yield();
                } else {
                    LockSupport.parkNanos(park);
                    park = Math.min(park * 2, TimeUnit.MICROSECONDS.toNanos(MAX_PARK_MICROS));
                }
                long now = System.nanoTime();
                if (now - nextCheck >= 0) {
                    nextCheck = now + TimeUnit.MILLISECONDS.toNanos(1);
                    d.check();
                    peers.checkAlive(d.what());
                    if (now - nextPidCheck >= 0) {
                        nextPidCheck = now + TimeUnit.MILLISECONDS.toNanos(PID_CHECK_MILLIS);
                        checkPids(d);
                    }
                }
            }
        }
    }

    private void checkPids(Deadline d) {
        for (int q = 0; q < k; q++) {
            if (pids[q] == 0) {
                pids[q] = layout.pid(s, q);
            }
            if (q != me && pids[q] > 0 && layout.phaseAcquire(s, q) < phase && !ProcessLiveness.isAlive(pids[q], 0)) {
                throw new MemberLostException(peers.names()[q], d.what() + " (its process " + pids[q] + " died)");
            }
        }
    }

    @Override
    public void close() {
        segment.close();
    }
}
