package dev.tessera.distributed.internal.collective;

import dev.tessera.distributed.ReduceOp;
import dev.tessera.distributed.internal.collective.OpHeader.Op;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Collectives over a {@link Mesh} of TCP connections, for ranks on different hosts (or forced on one).
 *
 * <p>Every operation starts with an all-to-all exchange of {@link OpHeader}s. All-reduce is the bandwidth-optimal
 * ring: k-1 reduce-scatter steps (rank i sends part i-s to rank i+1 and reduces part i-s-1 from rank i-1 into its
 * buffer as frames arrive) and k-1 all-gather steps; each rank sends and receives about 2(k-1)/k of the data. Reduce
 * is the reduce-scatter followed by one send of each part to the root. All-gather is a ring; broadcast, gather and
 * scatter are direct sends from or to the root (one hop; the group sizes this targets are small). Not thread-safe;
 * it owns nothing but scratch memory during an operation (the mesh belongs to the group).
 */
public final class TcpEngine implements Engine {
    private final Peers peers;
    private final Mesh mesh;
    private final int k;
    private final int me;

    public TcpEngine(Peers peers, Mesh mesh) {
        this.peers = peers;
        this.mesh = mesh;
        this.k = peers.size();
        this.me = peers.self();
    }

    @Override
    public String transport() {
        return "tcp";
    }

    /** Exchanges headers with every rank and checks them; the same verdict everywhere. */
    @Override
    public OpHeader[] agree(OpHeader mine, String localError, Deadline d) {
        List<CompletableFuture<Void>> sent = new ArrayList<>();
        MemorySegment bytes = MemorySegment.ofArray(mine.toBytes());
        for (int q = 0; q < k; q++) {
            sent.add(q == me ? null : mesh.send(q, bytes, 0, OpHeader.BYTES));
        }
        OpHeader[] all = new OpHeader[k];
        for (int q = 0; q < k; q++) {
            all[q] = q == me ? mine : OpHeader.read(MemorySegment.ofArray(mesh.take(q, d)), 0);
        }
        for (int q = 0; q < k; q++) {
            if (q != me) {
                mesh.await(sent.get(q), q, d);
            }
        }
        if (localError != null) {
            throw new IllegalArgumentException(d.what() + ": " + localError + " (every rank fails this collective)");
        }
        OpHeader.checkAgree(all, peers.ranks(), me, d.what());
        return all;
    }

    /** Where part {@code q} (taken modulo k) of {@code n} bytes of {@code es}-byte elements starts. */
    private long partLo(long n, long es, int q) {
        return n / es * Math.floorMod(q, k) / k * es;
    }

    /** The length of part {@code q} (modulo k). */
    private long partLen(long n, long es, int q) {
        int m = Math.floorMod(q, k);
        return (n / es * (m + 1) / k - n / es * m / k) * es;
    }

    @Override
    public void reduce(CollBuffer buf, ReduceOp op, int root, String localError, Deadline d) {
        String err = localError != null ? localError : buf.dtype() == null ? null : Reductions.unsupported(buf.dtype());
        agree(OpHeader.of(root < 0 ? Op.ALL_REDUCE : Op.REDUCE, root, op, buf, err), err, d);
        long n = buf.byteSize();
        boolean receives = root < 0 || root == me;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment work = receives ? buf.target() : arena.allocate(Math.max(1, n), 64).asSlice(0, n);
            if (!(receives && buf.inPlace())) {
                MemorySegment.copy(buf.source(), 0, work, 0, n);
            }
            if (k == 1) {
                if (op == ReduceOp.AVG) {
                    Reductions.divide(buf.dtype(), work, 0, n, 1);
                }
                return;
            }
            long es = buf.dtype().byteSize();
            int next = (me + 1) % k;
            int prev = (me + k - 1) % k;
            for (int step = 0; step < k - 1; step++) {
                int sendPart = me - step;
                int recvPart = me - step - 1;
                CompletableFuture<Void> sent = mesh.send(next, work, partLo(n, es, sendPart), partLen(n, es, sendPart));
                long at = partLo(n, es, recvPart);
                mesh.receive(prev, partLen(n, es, recvPart), d, (frame, x) -> Reductions.combine(buf.dtype(), op,
                        work, at + x, work, at + x, frame, 0, frame.byteSize()));
                mesh.await(sent, next, d);
            }
            int owned = me + 1; // the part this rank now holds fully reduced
            if (op == ReduceOp.AVG) {
                Reductions.divide(buf.dtype(), work, partLo(n, es, owned), partLen(n, es, owned), k);
            }
            if (root < 0) {
                allGatherRing(work, n, es, d);
            } else if (me != root) {
                mesh.await(mesh.send(root, work, partLo(n, es, owned), partLen(n, es, owned)), root, d);
            } else {
                for (int q = 0; q < k; q++) {
                    if (q != me) {
                        int part = q + 1;
                        long at = partLo(n, es, part);
                        mesh.receive(q, partLen(n, es, part), d, (frame, x) -> MemorySegment.copy(frame, 0, work,
                                at + x, frame.byteSize()));
                    }
                }
            }
        }
    }

    /** Ring all-gather of the parts of {@code work}, rank i starting with part i+1 complete. */
    private void allGatherRing(MemorySegment work, long n, long es, Deadline d) {
        int next = (me + 1) % k;
        int prev = (me + k - 1) % k;
        for (int step = 0; step < k - 1; step++) {
            int sendPart = me + 1 - step;
            int recvPart = me - step;
            CompletableFuture<Void> sent = mesh.send(next, work, partLo(n, es, sendPart), partLen(n, es, sendPart));
            long at = partLo(n, es, recvPart);
            mesh.receive(prev, partLen(n, es, recvPart), d, (frame, x) -> MemorySegment.copy(frame, 0, work, at + x,
                    frame.byteSize()));
            mesh.await(sent, next, d);
        }
    }

    @Override
    public void broadcast(CollBuffer buf, int root, String localError, Deadline d) {
        agree(OpHeader.of(Op.BROADCAST, root, null, buf, localError), localError, d);
        long n = buf.byteSize();
        if (me == root) {
            List<CompletableFuture<Void>> sent = new ArrayList<>();
            for (int q = 0; q < k; q++) {
                sent.add(q == me ? null : mesh.send(q, buf.source(), 0, n));
            }
            awaitAll(sent, d);
        } else {
            MemorySegment t = buf.target();
            mesh.receive(root, n, d, (frame, x) -> MemorySegment.copy(frame, 0, t, x, frame.byteSize()));
        }
    }

    @Override
    public void gather(CollBuffer[] out, CollBuffer in, int root, String localError, Deadline d) {
        agree(OpHeader.of(root < 0 ? Op.ALL_GATHER : Op.GATHER, root, null, in, localError), localError, d);
        long n = in.byteSize();
        if (root < 0) {
            // ring over the k outputs: step s passes output (i - s) on to rank i+1
            MemorySegment.copy(in.source(), 0, out[me].target(), 0, n);
            int next = (me + 1) % k;
            int prev = (me + k - 1) % k;
            for (int step = 0; step < k - 1; step++) {
                int sendIdx = Math.floorMod(me - step, k);
                int recvIdx = Math.floorMod(me - step - 1, k);
                CompletableFuture<Void> sent = mesh.send(next, out[sendIdx].target(), 0, n);
                MemorySegment t = out[recvIdx].target();
                mesh.receive(prev, n, d, (frame, x) -> MemorySegment.copy(frame, 0, t, x, frame.byteSize()));
                mesh.await(sent, next, d);
            }
        } else if (me != root) {
            mesh.await(mesh.send(root, in.source(), 0, n), root, d);
        } else {
            MemorySegment.copy(in.source(), 0, out[me].target(), 0, n);
            for (int q = 0; q < k; q++) {
                if (q != me) {
                    MemorySegment t = out[q].target();
                    mesh.receive(q, n, d, (frame, x) -> MemorySegment.copy(frame, 0, t, x, frame.byteSize()));
                }
            }
        }
    }

    @Override
    public void scatter(CollBuffer out, CollBuffer[] in, int root, String localError, Deadline d) {
        agree(OpHeader.of(Op.SCATTER, root, null, out, localError), localError, d);
        long n = out.byteSize();
        if (me == root) {
            List<CompletableFuture<Void>> sent = new ArrayList<>();
            for (int q = 0; q < k; q++) {
                sent.add(q == me ? null : mesh.send(q, in[q].source(), 0, n));
            }
            MemorySegment.copy(in[me].source(), 0, out.target(), 0, n);
            awaitAll(sent, d);
        } else {
            MemorySegment t = out.target();
            mesh.receive(root, n, d, (frame, x) -> MemorySegment.copy(frame, 0, t, x, frame.byteSize()));
        }
    }

    @Override
    public void barrier(Deadline d) {
        agree(OpHeader.of(Op.BARRIER, -1, null, null, null), null, d);
    }

    private void awaitAll(List<CompletableFuture<Void>> sent, Deadline d) {
        for (int q = 0; q < sent.size(); q++) {
            if (sent.get(q) != null) {
                mesh.await(sent.get(q), q, d);
            }
        }
    }

    @Override
    public void close() {
        // the mesh belongs to the group
    }
}
