package dev.tessera.distributed.internal.collective;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.tessera.distributed.GroupTimeoutException;
import dev.tessera.distributed.MemberLostException;
import dev.tessera.distributed.ReduceOp;
import dev.tessera.distributed.internal.collective.OpHeader.Op;
import dev.tessera.distributed.internal.nccl.CudaRuntime;
import dev.tessera.distributed.internal.nccl.Nccl;
import dev.tessera.distributed.internal.nccl.TorchTensors;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/**
 * Collectives on CUDA NDArrays through NCCL, beside the group's host engine. Not thread-safe (the group runs one
 * operation at a time); it owns its NCCL communicators and one thread that issues NCCL calls, until
 * {@link #close()}.
 *
 * <p><b>Protocol.</b> Each operation first prepares this rank's tensors locally (their device addresses from
 * libtorch, a contiguous copy of a strided tensor, NCCL's type for a reduction, NCCL itself); anything wrong becomes
 * this rank's local error. Then the header goes through the host engine's exchange ({@link Engine#agree}), the same
 * exchange a CPU collective starts with, so every rank reaches one verdict, including "one rank has CPU tensors and
 * another CUDA tensors". Then the communicator: one per combination of the ranks' device indexes (from the headers,
 * so every rank picks the same one), made on first use: rank 0 calls {@code ncclGetUniqueId} and sends the 128
 * bytes to every rank over the group's TCP mesh, and every rank calls {@code ncclCommInitRank}. Then the NCCL call
 * on the legacy default stream (PyTorch's current stream, as DJL never sets another), and a wait for that stream.
 *
 * <p><b>Failure.</b> NCCL calls are issued on this engine's own thread; the operation's thread never blocks in NCCL
 * or CUDA. It polls: the issue, then {@code cudaStreamQuery} and {@code ncclCommGetAsyncError}, with the World's
 * view and the deadline between polls (every 50 µs to 1 ms). A lost member, a timeout or an asynchronous NCCL error
 * aborts the communicator ({@code ncclCommAbort}, from the operation's thread), which ends NCCL's kernels and any
 * call blocked in it, and the operation fails with {@link MemberLostException} or {@link GroupTimeoutException};
 * the group is then broken, as after any such failure. A {@code ncclCommInitRank} blocked on a dead rank has no
 * communicator to abort yet: the operation still fails within the bound, and the issue thread stays blocked until
 * NCCL's bootstrap gives up (a daemon thread; it holds no lock of the group).
 */
public final class NcclEngine implements Engine {
    private static final long MAX_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final Peers peers;
    private final Engine host;
    private final Mesh mesh;
    private final int k;
    private final int me;
    private final Map<List<Integer>, MemorySegment> comms = new java.util.concurrent.ConcurrentHashMap<>();
    /** Guards the poll's native calls on a communicator against its abort by {@link #close()} on another thread. */
    private final Object nativeLock = new Object();
    private volatile boolean closed;
    private final ExecutorService issuer;
    private Nccl nccl;
    private CudaRuntime cuda;

    public NcclEngine(Peers peers, Engine host, Mesh mesh) {
        this.peers = peers;
        this.host = host;
        this.mesh = mesh;
        this.k = peers.size();
        this.me = peers.self();
        this.issuer = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon()
                .name("tessera-nccl-" + peers.group()).factory());
    }

    @Override
    public String transport() {
        return "nccl";
    }

    // ------------------------------------------------------------------------------------------ operations

    @Override
    public void reduce(CollBuffer buf, ReduceOp op, int root, String localError, Deadline d) {
        Local l = new Local(localError);
        Dev t = l.tensor(buf);
        int type = l.reduceType(buf, op);
        run(l, OpHeader.of(root < 0 ? Op.ALL_REDUCE : Op.REDUCE, root, op, buf, l.error), d, comm -> {
            long count = buf.byteSize() / buf.dtype().byteSize();
            if (root < 0) {
                nccl.allReduce(t.ptr, t.ptr, count, type, Nccl.redOp(op), comm, CudaRuntime.DEFAULT_STREAM);
            } else {
                nccl.reduce(t.ptr, t.ptr, count, type, Nccl.redOp(op), root, comm, CudaRuntime.DEFAULT_STREAM);
            }
        });
        t.writeBack(root < 0 || root == me);
    }

    @Override
    public void broadcast(CollBuffer buf, int root, String localError, Deadline d) {
        Local l = new Local(localError);
        Dev t = l.tensor(buf);
        run(l, OpHeader.of(Op.BROADCAST, root, null, buf, l.error), d, comm -> nccl.broadcast(t.ptr, t.ptr,
                buf.byteSize(), Nccl.bytesType(), root, comm, CudaRuntime.DEFAULT_STREAM));
        t.writeBack(me != root);
    }

    @Override
    public void gather(CollBuffer[] out, CollBuffer in, int root, String localError, Deadline d) {
        Local l = new Local(localError);
        Dev src = l.tensor(in);
        boolean receives = root < 0 || root == me;
        Dev[] dst = receives ? l.outputs(out, in) : null;
        long n = in.byteSize();
        if (root < 0) {
            // one flat buffer for ncclAllGather, then PyTorch copies of its parts into the outputs
            long count = in.array().size();
            NDArray flat = l.error != null ? null : in.array().getManager().zeros(new Shape(k * count),
                    in.array().getDataType(), in.array().getDevice());
            try {
                Dev all = flat == null ? Dev.NONE : l.tensor(flat);
                run(l, OpHeader.of(Op.ALL_GATHER, root, null, in, l.error), d, comm -> nccl.allGather(src.ptr,
                        all.ptr, n, Nccl.bytesType(), comm, CudaRuntime.DEFAULT_STREAM));
                for (int q = 0; q < k; q++) {
                    try (NDArray part = flat.get(new NDIndex("{}:{}", q * count, (q + 1) * count))) {
                        dst[q].fill(part);
                    }
                    dst[q].writeBack(false); // filled directly: a contiguous copy of it is not needed
                }
            } finally {
                if (flat != null) {
                    flat.close();
                }
            }
        } else {
            run(l, OpHeader.of(Op.GATHER, root, null, in, l.error), d, comm -> {
                nccl.groupStart();
                try {
                    if (me != root) {
                        nccl.send(src.ptr, n, Nccl.bytesType(), root, comm, CudaRuntime.DEFAULT_STREAM);
                    } else {
                        for (int q = 0; q < k; q++) {
                            if (q != me) {
                                nccl.recv(dst[q].ptr, n, Nccl.bytesType(), q, comm, CudaRuntime.DEFAULT_STREAM);
                            }
                        }
                    }
                } finally {
                    nccl.groupEnd();
                }
            });
            if (me == root) {
                for (int q = 0; q < k; q++) {
                    dst[q].writeBack(q != me);
                }
                TorchTensors.copyInto(out[me].array(), in.array());
            }
        }
        src.writeBack(false);
    }

    @Override
    public void scatter(CollBuffer out, CollBuffer[] in, int root, String localError, Deadline d) {
        Local l = new Local(localError);
        Dev dst = l.tensor(out);
        Dev[] src = me == root ? l.outputs(in, out) : null;
        long n = out.byteSize();
        run(l, OpHeader.of(Op.SCATTER, root, null, out, l.error), d, comm -> {
            nccl.groupStart();
            try {
                if (me == root) {
                    for (int q = 0; q < k; q++) {
                        if (q != me) {
                            nccl.send(src[q].ptr, n, Nccl.bytesType(), q, comm, CudaRuntime.DEFAULT_STREAM);
                        }
                    }
                } else {
                    nccl.recv(dst.ptr, n, Nccl.bytesType(), root, comm, CudaRuntime.DEFAULT_STREAM);
                }
            } finally {
                nccl.groupEnd();
            }
        });
        if (me == root) {
            TorchTensors.copyInto(out.array(), in[me].array());
            for (Dev s : src) {
                s.writeBack(false);
            }
        }
        dst.writeBack(me != root);
    }

    // ------------------------------------------------------------------------------------------ point to point

    /** Tag of a receiver's reply to a CUDA message's header (the header itself travels with tag 0, as CPU ones). */
    public static final int REPLY_TAG = 1;

    /**
     * Sends a CUDA tensor to group index {@code to}: the header over the mesh, the receiver's reply (which refuses a
     * mismatch, or carries a new pair communicator's id), then {@code ncclSend} on the pair's communicator.
     *
     * @throws IllegalArgumentException if this rank's tensor is unusable or the receiver refused it
     */
    public void send(CollBuffer buf, int to, Deadline d) {
        Local l = new Local(null);
        Dev t = l.tensor(buf);
        try {
            if (l.error != null) {
                throw new IllegalArgumentException(d.what() + ": " + l.error);
            }
            OpHeader mine = OpHeader.of(Op.BROADCAST, -1, null, buf, null);
            mesh.await(mesh.sendP2p(to, 0, mine, MemorySegment.NULL, 0), to, d);
            Mesh.P2pMessage reply = mesh.takeP2p(to, REPLY_TAG, d);
            if (!reply.header().valid()) {
                throw new IllegalArgumentException(d.what() + ": rank " + peers.ranks()[to] + " refused this "
                        + mine.describeDevice() + " tensor (its receive expects another dtype, shape or device; its "
                        + "exception says which)");
            }
            MemorySegment comm = pair(to, mine.deviceIndex(), reply.header().deviceIndex(), reply, d);
            List<Integer> key = pairKey(to, mine.deviceIndex(), reply.header().deviceIndex());
            issueAndWait(mine.deviceIndex(), comm, key, d, c -> nccl.send(t.ptr, buf.byteSize(), Nccl.bytesType(),
                    me < to ? 1 : 0, c, CudaRuntime.DEFAULT_STREAM));
        } finally {
            t.writeBack(false);
        }
    }

    /**
     * Receives into a CUDA tensor from group index {@code from}, or from any rank ({@code from < 0}): the sender is
     * whoever's header arrives first (NCCL has no receive from any source; the header says who sent), and only then
     * does {@code ncclRecv} name it.
     *
     * @return the sender's group index
     * @throws IllegalArgumentException if the header does not match this tensor (the message is consumed and the
     *     sender fails too)
     */
    public int recv(CollBuffer buf, int from, Deadline d) {
        Local l = new Local(null);
        Dev t = l.tensor(buf);
        boolean done = false;
        try {
            if (l.error != null) {
                throw new IllegalArgumentException(d.what() + ": " + l.error);
            }
            OpHeader mine = OpHeader.of(Op.BROADCAST, -1, null, buf, null);
            Mesh.P2pMessage m = mesh.takeP2p(from, 0, d);
            OpHeader h = m.header();
            int sender = m.from();
            if (h.dtype() != mine.dtype() || !Arrays.equals(h.shape(), mine.shape()) || h.bytes() != mine.bytes()
                    || h.device() != OpHeader.CUDA) {
                if (h.device() == OpHeader.CUDA) {
                    refuse(sender, d);
                }
                throw new IllegalArgumentException(d.what() + ": rank " + peers.ranks()[sender] + " sent "
                        + h.describeDevice() + " dtype code " + h.dtype() + " shape " + Arrays.toString(h.shape())
                        + ", this receive expects " + mine.describeDevice() + " dtype code " + mine.dtype()
                        + " shape " + Arrays.toString(mine.shape()));
            }
            List<Integer> key = pairKey(sender, mine.deviceIndex(), h.deviceIndex());
            boolean fresh = !comms.containsKey(key);
            byte[] id = fresh ? nccl.uniqueId() : new byte[0];
            OpHeader accept = new OpHeader(Op.BROADCAST, fresh ? 1 : 0, -1, 0, true, 0, new long[0], OpHeader.CUDA,
                    mine.deviceIndex());
            mesh.await(mesh.sendP2p(sender, REPLY_TAG, accept, MemorySegment.ofArray(id), id.length), sender, d);
            MemorySegment comm = fresh ? initPair(key, id, sender, mine.deviceIndex(), d) : comms.get(key);
            issueAndWait(mine.deviceIndex(), comm, key, d, c -> nccl.recv(t.ptr, buf.byteSize(), Nccl.bytesType(),
                    me < sender ? 1 : 0, c, CudaRuntime.DEFAULT_STREAM));
            done = true;
            return sender;
        } finally {
            t.writeBack(done);
        }
    }

    /** Tells a CUDA sender that its message was refused. */
    private void refuse(int sender, Deadline d) {
        OpHeader no = new OpHeader(Op.BROADCAST, 0, -1, 0, false, 0, new long[0], OpHeader.HOST, -1);
        mesh.await(mesh.sendP2p(sender, REPLY_TAG, no, MemorySegment.NULL, 0), sender, d);
    }

    /** The sender's side of the pair communicator: a fresh one when the receiver sent an id. */
    private MemorySegment pair(int to, int myDevice, int peerDevice, Mesh.P2pMessage reply, Deadline d) {
        List<Integer> key = pairKey(to, myDevice, peerDevice);
        if (reply.header().root() == 1) {
            MemorySegment old = comms.get(key);
            abort(old, key);
            return initPair(key, reply.data(), to, myDevice, d);
        }
        MemorySegment comm = comms.get(key);
        if (comm == null) {
            throw new IllegalStateException(d.what() + ": rank " + peers.ranks()[to] + " holds a communicator "
                    + "with this rank that this rank does not (an earlier failure on one side)");
        }
        return comm;
    }

    /** A two-rank communicator: the lower group index is NCCL rank 0. */
    private MemorySegment initPair(List<Integer> key, byte[] id, int peer, int device, Deadline d) {
        MemorySegment comm = await(submit(() -> {
            cuda.setDevice(device);
            return nccl.commInitRank(2, id, me < peer ? 0 : 1);
        }), null, key, d);
        keep(key, comm);
        return comm;
    }

    /** Records a new communicator, unless the group was destroyed meanwhile (then it is aborted at once). */
    private void keep(List<Integer> key, MemorySegment comm) {
        synchronized (nativeLock) {
            if (closed) {
                nccl.commAbort(comm);
                throw new IllegalStateException(peers.describe("NCCL") + ": the group was destroyed");
            }
            comms.put(key, comm);
        }
    }

    private static List<Integer> pairKey(int peer, int myDevice, int peerDevice) {
        return List.of(-1, peer, myDevice, peerDevice); // collective keys hold only device indexes >= 0
    }

    @Override
    public OpHeader[] agree(OpHeader mine, String localError, Deadline d) {
        return host.agree(mine, localError, d);
    }

    @Override
    public void barrier(Deadline d) {
        host.barrier(d);
    }

    // ------------------------------------------------------------------------------------------ machinery

    /** One NCCL call sequence, issued on the issue thread with the communicator. */
    @FunctionalInterface
    private interface Issue {
        void on(MemorySegment comm);
    }

    /** Exchanges headers, finds or makes the communicator, issues, and waits for the stream. */
    private void run(Local l, OpHeader mine, Deadline d, Issue issue) {
        OpHeader[] all;
        try {
            all = host.agree(mine, l.error, d);
        } catch (RuntimeException | Error e) {
            l.discard();
            throw e;
        }
        int device = mine.deviceIndex();
        List<Integer> key = Arrays.stream(all).map(OpHeader::deviceIndex).toList();
        MemorySegment comm = comms.get(key);
        try {
            if (comm == null) {
                comm = create(key, device, d);
            }
            issueAndWait(device, comm, key, d, issue);
        } catch (RuntimeException | Error e) {
            l.discard();
            throw e;
        }
    }

    /** Issues NCCL calls on the issue thread and waits for them and for the stream. */
    private void issueAndWait(int device, MemorySegment comm, List<Integer> key, Deadline d, Issue issue) {
        await(submit(() -> {
            if (closed) {
                throw new IllegalStateException(d.what() + ": the group was destroyed");
            }
            cuda.setDevice(device);
            issue.on(comm);
            return null;
        }), comm, key, d);
        cuda.setDevice(device); // the legacy default stream is the current device's
        waitForStream(comm, key, d);
    }

    /** Rank 0 makes the id and sends it over the mesh; every rank joins the communicator. */
    private MemorySegment create(List<Integer> key, int device, Deadline d) {
        byte[] id;
        if (me == 0) {
            id = nccl.uniqueId();
            List<CompletableFuture<Void>> sent = new ArrayList<>();
            for (int q = 1; q < k; q++) {
                sent.add(mesh.send(q, MemorySegment.ofArray(id), 0, id.length));
            }
            for (int q = 1; q < k; q++) {
                mesh.await(sent.get(q - 1), q, d);
            }
        } else {
            id = mesh.take(0, d);
        }
        MemorySegment comm = await(submit(() -> {
            cuda.setDevice(device);
            return nccl.commInitRank(k, id, me);
        }), null, key, d);
        keep(key, comm);
        return comm;
    }

    private <T> CompletableFuture<T> submit(java.util.function.Supplier<T> call) {
        return CompletableFuture.supplyAsync(call, issuer);
    }

    /** Waits for an issue-thread call, polling the view and the deadline; aborts {@code comm} on failure. */
    private <T> T await(CompletableFuture<T> f, MemorySegment comm, List<Integer> key, Deadline d) {
        long pause = 50_000;
        while (true) {
            try {
                return f.get(pause, TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                pause = Math.min(pause * 2, MAX_POLL_NANOS);
                checkOrAbort(comm, key, d);
            } catch (ExecutionException e) {
                abort(comm, key);
                throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                abort(comm, key);
                throw new IllegalStateException(d.what() + ": interrupted while NCCL ran", e);
            }
        }
    }

    /** Polls the legacy default stream until NCCL's kernels finished. */
    private void waitForStream(MemorySegment comm, List<Integer> key, Deadline d) {
        long pause = 20_000;
        while (true) {
            int rc;
            int async;
            synchronized (nativeLock) {
                if (closed) {
                    throw new IllegalStateException(d.what() + ": the group was destroyed while NCCL ran");
                }
                rc = cuda.streamQuery(CudaRuntime.DEFAULT_STREAM);
                async = rc == CudaRuntime.NOT_READY ? nccl.asyncError(comm) : Nccl.SUCCESS;
            }
            if (rc == CudaRuntime.SUCCESS) {
                return;
            }
            if (rc != CudaRuntime.NOT_READY) {
                abort(comm, key);
                cuda.check(rc, d.what() + ": cudaStreamQuery");
            }
            if (async != Nccl.SUCCESS && async != Nccl.IN_PROGRESS) {
                abort(comm, key);
                nccl.check(async, d.what() + ": NCCL, in the background");
            }
            checkOrAbort(comm, key, d);
            LockSupport.parkNanos(pause);
            pause = Math.min(pause * 2, MAX_POLL_NANOS);
        }
    }

    private void checkOrAbort(MemorySegment comm, List<Integer> key, Deadline d) {
        try {
            d.check();
            peers.checkAlive(d.what());
        } catch (RuntimeException e) {
            abort(comm, key);
            throw e;
        }
    }

    private void abort(MemorySegment comm, List<Integer> key) {
        synchronized (nativeLock) {
            if (comm != null && comms.remove(key, comm)) {
                nccl.commAbort(comm); // ends the kernels and wakes a call blocked in NCCL; its result no longer matters
            }
        }
    }

    /** Aborts every communicator (not destroy: that waits for peers that may be gone) and stops the issue thread. */
    @Override
    public void close() {
        try {
            synchronized (nativeLock) {
                closed = true;
                for (var e : List.copyOf(comms.entrySet())) {
                    abort(e.getValue(), e.getKey());
                }
            }
        } finally {
            issuer.shutdownNow();
        }
    }

    // ------------------------------------------------------------------------------------------ local tensors

    /** One rank's preparation of an operation: its tensors on the device, and the first local error. */
    private final class Local {
        String error;
        private final List<Dev> made = new ArrayList<>();

        Local(String localError) {
            this.error = localError;
            if (error == null) {
                try {
                    if (nccl == null) {
                        Nccl n = Nccl.get();
                        cuda = CudaRuntime.get();
                        nccl = n;
                    }
                } catch (IllegalStateException e) {
                    error = e.getMessage();
                }
            }
        }

        /** The tensor's device address, through a contiguous copy if it is strided; a problem becomes the error. */
        Dev tensor(CollBuffer b) {
            if (error != null) {
                return Dev.NONE;
            }
            if (!b.isCuda()) {
                error = "a CPU tensor among CUDA ones (every tensor of one call is on the same device)";
                return Dev.NONE;
            }
            return tensor(b.array());
        }

        Dev tensor(NDArray a) {
            if (error != null) {
                return Dev.NONE;
            }
            try {
                TorchTensors.Info info = TorchTensors.describe(a);
                if (info.contiguous()) {
                    return keep(new Dev(a, null, info.data()));
                }
                NDArray copy = TorchTensors.contiguousCopy(a);
                return keep(new Dev(a, copy, TorchTensors.describe(copy).data()));
            } catch (RuntimeException e) {
                error = e.getMessage();
                return Dev.NONE;
            }
        }

        /** The list's tensors, each on {@code like}'s device. */
        Dev[] outputs(CollBuffer[] list, CollBuffer like) {
            Dev[] out = new Dev[k];
            Arrays.fill(out, Dev.NONE);
            for (int q = 0; list != null && q < list.length && error == null; q++) {
                if (list[q].deviceIndex() != like.deviceIndex()) {
                    error = "tensor " + q + " of the list is on " + list[q].array().getDevice() + ", the other "
                            + "tensor on " + like.array().getDevice() + " (every tensor of one call is on one device)";
                } else {
                    out[q] = tensor(list[q]);
                }
            }
            return out;
        }

        int reduceType(CollBuffer b, ReduceOp op) {
            if (error != null || b.dtype() == null) {
                return -1;
            }
            int t = Nccl.reduceType(b.dtype());
            if (t < 0) {
                error = "NCCL cannot reduce " + b.dtype().name().toLowerCase(java.util.Locale.ROOT) + " tensors (it "
                        + "reduces int8, uint8, int32, int64, float16, bfloat16, float32, float64)";
            } else if (op == ReduceOp.AVG && nccl.version() < Nccl.AVG_SINCE_VERSION) {
                error = "ReduceOp.AVG needs NCCL 2.10 or newer (this one is " + nccl.version() + ")";
            }
            return t;
        }

        private Dev keep(Dev d) {
            made.add(d);
            return d;
        }

        /** Closes the contiguous copies without writing back (the operation failed). */
        void discard() {
            for (Dev d : made) {
                d.writeBack(false);
            }
        }
    }

    /** A tensor's device address; a strided tensor's is that of its contiguous copy, written back at the end. */
    private static final class Dev {
        static final Dev NONE = new Dev(null, null, MemorySegment.NULL);
        final NDArray array;
        final MemorySegment ptr;
        private NDArray copy;

        Dev(NDArray array, NDArray copy, MemorySegment ptr) {
            this.array = array;
            this.copy = copy;
            this.ptr = ptr;
        }

        /** Copies {@code from} into the tensor (through the copy, if any, which is then written back). */
        void fill(NDArray from) {
            try (NDArray shaped = from.reshape(array.getShape())) {
                TorchTensors.copyInto(array, shaped);
            }
        }

        /** Writes the contiguous copy back into the tensor if {@code written}, and closes it. Idempotent. */
        void writeBack(boolean written) {
            if (copy != null) {
                if (written) {
                    TorchTensors.copyInto(array, copy);
                }
                copy.close();
                copy = null;
            }
        }
    }
}
