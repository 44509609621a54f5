package dev.tessera.distributed;

import ai.djl.ndarray.NDArray;
import dev.tessera.distributed.internal.Node;
import dev.tessera.distributed.internal.collective.CollBuffer;
import dev.tessera.distributed.internal.collective.Deadline;
import dev.tessera.distributed.internal.collective.Engine;
import dev.tessera.distributed.internal.collective.ListCollectives;
import dev.tessera.distributed.internal.collective.Mesh;
import dev.tessera.distributed.internal.collective.NcclEngine;
import dev.tessera.distributed.internal.collective.OpHeader;
import dev.tessera.distributed.internal.collective.Peers;
import dev.tessera.distributed.internal.collective.ShmEngine;
import dev.tessera.distributed.internal.collective.TcpEngine;
import dev.tessera.sharedmem.SharedSegment;
import dev.tessera.sharedmem.SharedTensor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * This member's side of a group of World ranks that run tensor collectives together (machin's
 * {@code CollectiveGroup}, torch.distributed's process group); thread-safe, owning its data path (a shared segment
 * or sockets, and two threads) until {@link #destroy()} or {@link World#close()}. The tensors stay the caller's:
 * results land in the caller's arrays in place, as in torch.
 *
 * <p><b>Order.</b> Every rank must issue the group's collectives in the same order; they run one at a time, in
 * issue order, whether sync ({@link #allReduce}) or async ({@link #allReduceAsync}, returning a {@link Work}).
 * Point-to-point {@link #send}/{@link #recv} run beside them.
 *
 * <p><b>Checks.</b> Each collective starts with an exchange of a small header (operation, root, reduce op, dtype,
 * shape): a rank whose tensor differs, or whose own arguments are wrong, makes the collective fail on every rank
 * with {@link IllegalArgumentException}, never a hang or garbage; the group stays usable.
 *
 * <p><b>Failure.</b> Every operation runs under the group's timeout ({@link #withTimeout}); a rank that dies or
 * leaves fails it on every survivor with {@link MemberLostException} naming it (within about two seconds), and a
 * timeout with {@link GroupTimeoutException}. Either leaves the ranks out of step, so the group is then broken:
 * later calls fail at once; destroy it and create a new one.
 *
 * <p><b>Transports</b> ({@link Options#optTransport}): ranks on one host share one segment and read each other's
 * slots in place; otherwise TCP rings. Point-to-point messages always travel over TCP. A CPU NDArray's result is
 * copied into its own storage (views of them see it), shared tensors are written in place.
 *
 * <p><b>CUDA tensors</b> (PyTorch NDArrays on a GPU) go through NCCL instead, per call, in the same group and after
 * the same header exchange (which compares the device kind too): every rank passes CPU tensors or every rank CUDA
 * tensors, one GPU per rank. NCCL is found through {@code TESSERA_NCCL_LIBRARY} ({@code -Dtessera.nccl.library}),
 * the loader's path, or python3's {@code nvidia-nccl} package, and the CUDA runtime likewise through
 * {@code TESSERA_CUDART_LIBRARY}; only a collective on a CUDA tensor needs them. A CUDA {@link #send}/{@link #recv}
 * runs in the group's operation order, like a collective (its kernels share PyTorch's stream).
 *
 * <p><b>Lists of arrays</b> ({@link #allReduceMultiGpu}, {@link #reduceMultiGpu}, {@link #broadcastMultiGpu},
 * {@link #allGatherMultiGpu}; torch.distributed's {@code *_multigpu}): each rank passes one array per local device, and
 * the collective runs over every array of every rank. Each is one collective of the kinds above, between a local step
 * on the list's first device (combining or stacking, with DJL, outside autograd) and a copy of the result into the
 * list; so they work on every transport and on CPU arrays too. The header carries the list's length, so ranks whose
 * lists differ in length fail like ranks whose shapes differ.
 */
public final class CollectiveGroup {
    /** Marks a name while its group is being created. */
    static final CollectiveGroup CLAIMING = new CollectiveGroup();

    private final World world;
    private final Peers peers;
    private final Duration timeout;
    private final Shared shared;

    /** State every timeout view of one group shares. */
    private static final class Shared {
        final Engine engine;
        /** CUDA tensors' engine: NCCL, beside {@link #engine}, whose header exchange it shares. */
        final NcclEngine nccl;
        /** The multi-GPU collectives, on the two engines above. */
        final ListCollectives lists;
        final Mesh mesh;
        final RpcGroup control;
        final Transport transport;
        final ExecutorService ordered;
        final ExecutorService p2p;
        final ReentrantLock opLock = new ReentrantLock();
        final AtomicInteger pending = new AtomicInteger();
        final AtomicReference<RuntimeException> broken = new AtomicReference<>();
        final AtomicBoolean destroyed = new AtomicBoolean();

        Shared(Engine engine, Mesh mesh, RpcGroup control, Transport transport, String name, Peers peers) {
            this.engine = engine;
            this.nccl = new NcclEngine(peers, engine, mesh);
            this.lists = new ListCollectives(engine, nccl, peers);
            this.mesh = mesh;
            this.control = control;
            this.transport = transport;
            this.ordered = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon()
                    .name("tessera-collective-" + name).factory());
            this.p2p = Executors.newCachedThreadPool(Thread.ofPlatform().daemon()
                    .name("tessera-p2p-" + name + "-", 0).factory());
        }
    }

    private CollectiveGroup() {
        this.world = null;
        this.peers = null;
        this.timeout = null;
        this.shared = null;
    }

    private CollectiveGroup(World world, Peers peers, Duration timeout, Shared shared) {
        this.world = world;
        this.peers = peers;
        this.timeout = timeout;
        this.shared = shared;
    }

    /**
     * New options: {@link Transport#AUTO}, the World's RPC timeout, 16 MiB slots.
     *
     * @return options, not thread-safe
     */
    public static Options options() {
        return new Options();
    }

    static CollectiveGroup create(World world, Node node, String name, List<Integer> ranks, Options options) {
        Objects.requireNonNull(options, "options");
        TreeSet<Integer> set = new TreeSet<>(Objects.requireNonNull(ranks, "ranks"));
        int[] r = set.stream().mapToInt(Integer::intValue).toArray();
        String[] names = new String[r.length];
        for (int i = 0; i < r.length; i++) {
            names[i] = node.nameOfRank(r[i]);
            if (names[i] == null) {
                throw new IllegalArgumentException("collective group '" + name + "': rank " + r[i] + " is not in the "
                        + "World (members " + world.members() + ")");
            }
        }
        int self = Arrays.binarySearch(r, world.rank());
        if (self < 0) {
            throw new IllegalArgumentException("collective group '" + name + "': this member's rank " + world.rank()
                    + " is not among its ranks " + set + " (a group is created by each of its ranks)");
        }
        Duration timeout = options.timeout != null ? options.timeout : node.settings().rpcTimeout();
        Peers peers = new Peers(name, r, names, self, node);
        Deadline d = Deadline.in(timeout, peers.describe("creating"));
        RpcGroup control = world.createRpcGroup("tessera.collective." + name, List.of(names)).withTimeout(timeout);
        Mesh mesh = null;
        Engine engine = null;
        try {
            mesh = new Mesh(peers, node.settings().bindAddress());
            control.pair("addr/" + self, mesh.address());
            control.pair("host/" + self, dev.tessera.distributed.internal.HostId.current());
            control.pair("transport/" + self, options.transport.name() + " with slots of " + options.slotBytes
                    + " bytes");
            control.barrier(timeout);
            Transport chosen = choose(control, peers, options);
            String[] addresses = new String[r.length];
            for (int i = 0; i < r.length; i++) {
                addresses[i] = control.getPaired("addr/" + i);
            }
            mesh.connect(addresses, d);
            if (chosen == Transport.SHARED_MEMORY) {
                engine = attach(control, peers, options.slotBytes, timeout);
            } else {
                engine = new TcpEngine(peers, mesh);
            }
            control.barrier(timeout); // every rank attached and connected
            return new CollectiveGroup(world, peers, timeout, new Shared(engine, mesh, control, chosen, name, peers));
        } catch (RuntimeException | Error e) {
            if (engine != null) {
                engine.close();
            }
            if (mesh != null) {
                mesh.close();
            }
            control.destroy();
            throw e;
        }
    }

    private static Transport choose(RpcGroup control, Peers peers, Options options) {
        Transport mine = options.transport;
        String asked = control.getPaired("transport/" + peers.self());
        String host0 = control.getPaired("host/0");
        boolean oneHost = true;
        for (int i = 0; i < peers.size(); i++) {
            String t = control.getPaired("transport/" + i);
            if (!t.equals(asked)) {
                throw new IllegalArgumentException(peers.describe("creating") + ": rank " + peers.ranks()[i]
                        + " asked for transport " + t + ", this rank for " + asked + " (every rank must pass the same options)");
            }
            oneHost &= control.getPaired("host/" + i).equals(host0);
        }
        if (mine == Transport.SHARED_MEMORY && !oneHost) {
            throw new IllegalArgumentException(peers.describe("creating") + ": Transport.SHARED_MEMORY needs every "
                    + "rank on one host, and they are not (use AUTO or TCP)");
        }
        return mine == Transport.TCP || !oneHost ? Transport.TCP : Transport.SHARED_MEMORY;
    }

    private static Engine attach(RpcGroup control, Peers peers, long slotBytes, Duration timeout) {
        SharedSegment segment = null;
        try {
            if (peers.self() == 0) {
                segment = ShmEngine.create(peers.size(), slotBytes);
                control.pair("segment", segment.name());
                control.barrier(timeout);
            } else {
                control.barrier(timeout);
                segment = SharedSegment.open((String) control.getPaired("segment"));
            }
            return new ShmEngine(peers, segment, slotBytes);
        } catch (RuntimeException | Error e) {
            if (segment != null) {
                segment.close();
            }
            throw e;
        }
    }

    /**
     * This group with another timeout for its operations; the two share everything else.
     *
     * @param timeout a positive duration
     * @return a view of this group
     * @throws IllegalArgumentException if it is not positive
     */
    public CollectiveGroup withTimeout(Duration timeout) {
        return new CollectiveGroup(world, peers, positive("timeout", timeout), shared);
    }

    /**
     * The group's name.
     *
     * @return the name given to {@link World#createCollectiveGroup}
     */
    public String name() {
        return peers.group();
    }

    /**
     * The group's world ranks, ascending.
     *
     * @return an immutable list
     */
    public List<Integer> ranks() {
        return Arrays.stream(peers.ranks()).boxed().toList();
    }

    /**
     * The number of ranks.
     *
     * @return the group size
     */
    public int size() {
        return peers.size();
    }

    /**
     * The data path the ranks agreed on: {@link Transport#SHARED_MEMORY} or {@link Transport#TCP}.
     *
     * @return the transport in use
     */
    public Transport transport() {
        return shared.transport;
    }

    /**
     * The timeout of this view's operations.
     *
     * @return the timeout
     */
    public Duration timeout() {
        return timeout;
    }

    // ---------------------------------------------------------------------------------------------- collectives

    /**
     * Reduces every rank's {@code array} element-wise with {@code op}; the result lands in every rank's array.
     *
     * @param array a CPU array, the same dtype and shape on every rank
     * @param op the reduction, the same on every rank
     * @throws IllegalArgumentException on every rank if the ranks' arrays or ops differ
     * @throws MemberLostException if a rank died
     * @throws GroupTimeoutException if the timeout passed
     */
    public void allReduce(NDArray array, ReduceOp op) {
        allReduceAsync(array, op).await(timeout);
    }

    /**
     * As {@link #allReduce(NDArray, ReduceOp)}, in place in a shared tensor.
     *
     * @param tensor a writable tensor, the same dtype and shape on every rank
     * @param op the reduction
     */
    public void allReduce(SharedTensor tensor, ReduceOp op) {
        allReduceAsync(tensor, op).await(timeout);
    }

    /**
     * As {@link #allReduce(NDArray, ReduceOp)}, asynchronously.
     *
     * @param array the array; it must stay open until the work is done
     * @param op the reduction
     * @return the work
     */
    public Work<Void> allReduceAsync(NDArray array, ReduceOp op) {
        return reduceWork(CollBuffer.of(array), op, EVERY_RANK, "allReduce");
    }

    /**
     * As {@link #allReduce(SharedTensor, ReduceOp)}, asynchronously.
     *
     * @param tensor the tensor; it must stay open until the work is done
     * @param op the reduction
     * @return the work
     */
    public Work<Void> allReduceAsync(SharedTensor tensor, ReduceOp op) {
        return reduceWork(CollBuffer.of(tensor), op, EVERY_RANK, "allReduce");
    }

    /**
     * Reduces every rank's {@code array} into the root's; the other ranks' arrays are left unchanged.
     *
     * @param array a CPU array, the same dtype and shape on every rank
     * @param root the world rank that receives the result
     * @param op the reduction
     */
    public void reduce(NDArray array, int root, ReduceOp op) {
        reduceAsync(array, root, op).await(timeout);
    }

    /**
     * As {@link #reduce(NDArray, int, ReduceOp)}, in a shared tensor.
     *
     * @param tensor a writable tensor
     * @param root the world rank that receives the result
     * @param op the reduction
     */
    public void reduce(SharedTensor tensor, int root, ReduceOp op) {
        reduceAsync(tensor, root, op).await(timeout);
    }

    /**
     * As {@link #reduce(NDArray, int, ReduceOp)}, asynchronously.
     *
     * @param array the array
     * @param root the world rank that receives the result
     * @param op the reduction
     * @return the work
     */
    public Work<Void> reduceAsync(NDArray array, int root, ReduceOp op) {
        return reduceWork(CollBuffer.of(array), op, OptionalInt.of(root), "reduce");
    }

    /**
     * As {@link #reduce(SharedTensor, int, ReduceOp)}, asynchronously.
     *
     * @param tensor the tensor
     * @param root the world rank that receives the result
     * @param op the reduction
     * @return the work
     */
    public Work<Void> reduceAsync(SharedTensor tensor, int root, ReduceOp op) {
        return reduceWork(CollBuffer.of(tensor), op, OptionalInt.of(root), "reduce");
    }

    /** root: a world rank (any other number, negative ones too, fails on every rank), or {@link #EVERY_RANK}. */
    private Work<Void> reduceWork(CollBuffer buf, ReduceOp op, OptionalInt root, String what) {
        Objects.requireNonNull(op, "op");
        boolean every = root.isEmpty();
        int rootIndex = every ? -1 : peers.indexOf(root.getAsInt());
        String err = !every && rootIndex < 0 ? rootError(root.getAsInt()) : null;
        return submit(what, d -> {
            boolean receives = every || rootIndex == peers.self();
            engine(buf).reduce(buf, op, every ? -1 : Math.max(0, rootIndex), err, d);
            return commit(receives ? List.of(buf) : List.of(), List.of(buf));
        });
    }

    /**
     * Copies the root's {@code array} into every other rank's.
     *
     * @param array a CPU array, the same dtype and shape on every rank
     * @param root the world rank whose array is sent
     */
    public void broadcast(NDArray array, int root) {
        broadcastAsync(array, root).await(timeout);
    }

    /**
     * As {@link #broadcast(NDArray, int)}, in a shared tensor.
     *
     * @param tensor a writable tensor
     * @param root the world rank whose tensor is sent
     */
    public void broadcast(SharedTensor tensor, int root) {
        broadcastAsync(tensor, root).await(timeout);
    }

    /**
     * As {@link #broadcast(NDArray, int)}, asynchronously.
     *
     * @param array the array
     * @param root the world rank whose array is sent
     * @return the work
     */
    public Work<Void> broadcastAsync(NDArray array, int root) {
        return broadcastWork(CollBuffer.of(array), root, "broadcast");
    }

    /**
     * As {@link #broadcast(SharedTensor, int)}, asynchronously.
     *
     * @param tensor the tensor
     * @param root the world rank whose tensor is sent
     * @return the work
     */
    public Work<Void> broadcastAsync(SharedTensor tensor, int root) {
        return broadcastWork(CollBuffer.of(tensor), root, "broadcast");
    }

    private Work<Void> broadcastWork(CollBuffer buf, int root, String what) {
        int rootIndex = peers.indexOf(root);
        String err = rootIndex < 0 ? rootError(root) : null;
        return submit(what, d -> {
            engine(buf).broadcast(buf, Math.max(0, rootIndex), err, d);
            return commit(rootIndex == peers.self() ? List.of() : List.of(buf), List.of(buf));
        });
    }

    /**
     * Gathers every rank's {@code input} into every rank's {@code outputs}: {@code outputs.get(i)} receives the
     * input of the i-th rank of {@link #ranks()}.
     *
     * @param outputs {@link #size()} CPU arrays of the input's dtype and shape
     * @param input a CPU array, the same dtype and shape on every rank
     */
    public void allGather(List<NDArray> outputs, NDArray input) {
        allGatherAsync(outputs, input).await(timeout);
    }

    /**
     * As {@link #allGather(List, NDArray)}, with shared tensors.
     *
     * @param outputs {@link #size()} writable tensors
     * @param input the tensor to contribute
     */
    public void allGatherShared(List<SharedTensor> outputs, SharedTensor input) {
        gatherWork(shareds(outputs), CollBuffer.of(input), EVERY_RANK, "allGather").await(timeout);
    }

    /**
     * As {@link #allGather(List, NDArray)}, asynchronously.
     *
     * @param outputs the arrays that receive
     * @param input the array to contribute
     * @return the work
     */
    public Work<Void> allGatherAsync(List<NDArray> outputs, NDArray input) {
        return gatherWork(arrays(outputs), CollBuffer.of(input), EVERY_RANK, "allGather");
    }

    /**
     * Gathers every rank's {@code input} into the root's {@code outputs} ({@code outputs.get(i)} receives the i-th
     * rank's); the other ranks pass null.
     *
     * @param outputs at the root, {@link #size()} CPU arrays of the input's dtype and shape; elsewhere null
     * @param input a CPU array, the same dtype and shape on every rank
     * @param root the world rank that receives
     */
    public void gather(List<NDArray> outputs, NDArray input, int root) {
        gatherAsync(outputs, input, root).await(timeout);
    }

    /**
     * As {@link #gather(List, NDArray, int)}, asynchronously.
     *
     * @param outputs the arrays that receive, at the root; elsewhere null
     * @param input the array to contribute
     * @param root the world rank that receives
     * @return the work
     */
    public Work<Void> gatherAsync(List<NDArray> outputs, NDArray input, int root) {
        return gatherWork(outputs == null ? null : arrays(outputs), CollBuffer.of(input), OptionalInt.of(root), "gather");
    }

    private Work<Void> gatherWork(CollBuffer[] out, CollBuffer in, OptionalInt root, String what) {
        boolean every = root.isEmpty();
        int rootIndex = every ? -1 : peers.indexOf(root.getAsInt());
        boolean receives = every || rootIndex == peers.self();
        String err = !every && rootIndex < 0 ? rootError(root.getAsInt()) : receives ? checkList("outputs", out, in) : null;
        return submit(what, d -> {
            engine(in).gather(out, in, every ? -1 : Math.max(0, rootIndex), err, d);
            return commit(receives ? List.of(out) : List.of(), receives ? List.of(out) : List.of());
        });
    }

    /**
     * Sends the root's {@code inputs.get(i)} to the i-th rank of {@link #ranks()}, into its {@code output}.
     *
     * @param output a CPU array, the same dtype and shape on every rank
     * @param inputs at the root, {@link #size()} CPU arrays of the output's dtype and shape; elsewhere null
     * @param root the world rank that sends
     */
    public void scatter(NDArray output, List<NDArray> inputs, int root) {
        scatterAsync(output, inputs, root).await(timeout);
    }

    /**
     * As {@link #scatter(NDArray, List, int)}, asynchronously.
     *
     * @param output the array that receives
     * @param inputs the arrays the root sends; elsewhere null
     * @param root the world rank that sends
     * @return the work
     */
    public Work<Void> scatterAsync(NDArray output, List<NDArray> inputs, int root) {
        CollBuffer out = CollBuffer.of(output);
        CollBuffer[] in = inputs == null ? null : arrays(inputs);
        int rootIndex = peers.indexOf(root);
        String err = rootIndex < 0 ? rootError(root)
                : rootIndex == peers.self() ? checkList("inputs", in, out) : null;
        return submit("scatter", d -> {
            engine(out).scatter(out, in, Math.max(0, rootIndex), err, d);
            return commit(List.of(out), List.of(out));
        });
    }

    // ---------------------------------------------------------------------------------------------- multi-GPU

    /**
     * All-reduce over a list of arrays per rank, usually one per local GPU (torch.distributed's
     * {@code all_reduce_multigpu}): every array of every rank's list ends holding the reduction of all of them, the
     * ranks' lists together ({@link ReduceOp#AVG} divides by the number of ranks times the list's length). The list is
     * combined on its first array's device, that one array is all-reduced, and the result copied into the list; a list
     * of one array runs exactly {@link #allReduce(NDArray, ReduceOp)}.
     *
     * @param arrays one or more arrays of one dtype and shape, each on the CPU or a CUDA device; every rank's list has
     *     the same length, dtype and shape
     * @param op the reduction, the same on every rank
     * @throws IllegalArgumentException on every rank if a rank's list is null, empty, holds null or mixes dtypes or
     *     shapes, or if the ranks' lists differ in length, dtype or shape
     * @throws MemberLostException if a rank died
     * @throws GroupTimeoutException if the timeout passed
     */
    public void allReduceMultiGpu(List<NDArray> arrays, ReduceOp op) {
        allReduceMultiGpuAsync(arrays, op).await(timeout);
    }

    /**
     * As {@link #allReduceMultiGpu}, asynchronously.
     *
     * @param arrays the arrays; they must stay open until the work is done
     * @param op the reduction
     * @return the work
     */
    public Work<Void> allReduceMultiGpuAsync(List<NDArray> arrays, ReduceOp op) {
        return reduceListWork(arrays, op, false, -1, 0, "allReduceMultiGpu");
    }

    /**
     * Reduces every array of every rank's list into {@code arrays.get(rootTensor)} of the root (torch.distributed's
     * {@code reduce_multigpu}); every other array, the root's included, is left unchanged. A list of one array runs
     * exactly {@link #reduce(NDArray, int, ReduceOp)}.
     *
     * @param arrays one or more arrays of one dtype and shape, as in {@link #allReduceMultiGpu}
     * @param root the world rank that receives the result
     * @param op the reduction
     * @param rootTensor the index in the root's list of the array that receives; checked on every rank
     * @throws IllegalArgumentException on every rank if a list is wrong (see {@link #allReduceMultiGpu}), or a rank's
     *     {@code root} is not in the group or its {@code rootTensor} not an index of its list
     */
    public void reduceMultiGpu(List<NDArray> arrays, int root, ReduceOp op, int rootTensor) {
        reduceMultiGpuAsync(arrays, root, op, rootTensor).await(timeout);
    }

    /**
     * As {@link #reduceMultiGpu}, asynchronously.
     *
     * @param arrays the arrays; they must stay open until the work is done
     * @param root the world rank that receives the result
     * @param op the reduction
     * @param rootTensor the index in the root's list of the array that receives
     * @return the work
     */
    public Work<Void> reduceMultiGpuAsync(List<NDArray> arrays, int root, ReduceOp op, int rootTensor) {
        return reduceListWork(arrays, op, true, root, rootTensor, "reduceMultiGpu");
    }

    /** All-reduce ({@code toRoot} false) or reduce of a list; a list of one goes to the single-array operation. */
    private Work<Void> reduceListWork(List<NDArray> arrays, ReduceOp op, boolean toRoot, int root, int rootTensor,
            String what) {
        Objects.requireNonNull(op, "op");
        List<NDArray> list = copy(arrays);
        int rootIndex = toRoot ? peers.indexOf(root) : -1;
        String err = ListCollectives.check("arrays", list);
        if (err == null && toRoot) {
            err = rootIndex < 0 ? rootError(root) : ListCollectives.checkIndex("rootTensor", rootTensor, list);
        }
        if (err == null && list.size() == 1) {
            return reduceWork(CollBuffer.of(list.get(0)), op, toRoot ? OptionalInt.of(root) : EVERY_RANK, what);
        }
        String error = err;
        return submit(what, d -> {
            shared.lists.reduce(list, op, toRoot ? Math.max(0, rootIndex) : -1, rootTensor, error, d);
            return null;
        });
    }

    /**
     * Copies the root's {@code arrays.get(rootTensor)} into every array of every rank's list (torch.distributed's
     * {@code broadcast_multigpu}). A list of one array runs exactly {@link #broadcast(NDArray, int)}.
     *
     * @param arrays one or more arrays of one dtype and shape, as in {@link #allReduceMultiGpu}
     * @param root the world rank whose array is sent
     * @param rootTensor the index in the root's list of the array sent; checked on every rank
     * @throws IllegalArgumentException on every rank if a list is wrong (see {@link #allReduceMultiGpu}), or a rank's
     *     {@code root} is not in the group or its {@code rootTensor} not an index of its list
     */
    public void broadcastMultiGpu(List<NDArray> arrays, int root, int rootTensor) {
        broadcastMultiGpuAsync(arrays, root, rootTensor).await(timeout);
    }

    /**
     * As {@link #broadcastMultiGpu}, asynchronously.
     *
     * @param arrays the arrays; they must stay open until the work is done
     * @param root the world rank whose array is sent
     * @param rootTensor the index in the root's list of the array sent
     * @return the work
     */
    public Work<Void> broadcastMultiGpuAsync(List<NDArray> arrays, int root, int rootTensor) {
        List<NDArray> list = copy(arrays);
        int rootIndex = peers.indexOf(root);
        String err = ListCollectives.check("arrays", list);
        if (err == null) {
            err = rootIndex < 0 ? rootError(root) : ListCollectives.checkIndex("rootTensor", rootTensor, list);
        }
        if (err == null && list.size() == 1) {
            return broadcastWork(CollBuffer.of(list.get(0)), root, "broadcastMultiGpu");
        }
        String error = err;
        return submit("broadcastMultiGpu", d -> {
            shared.lists.broadcast(list, Math.max(0, rootIndex), rootTensor, error, d);
            return null;
        });
    }

    /**
     * Gathers every input of every rank into every one of this rank's output lists (torch.distributed's
     * {@code all_gather_multigpu}), rank-major: with n inputs per rank, {@code outputs.get(i).get(q * n + j)} receives
     * input j of the q-th rank of {@link #ranks()}, for every i. (torch's documentation writes the index as
     * {@code q * world_size + j}; its implementation, and this method, use the list's length n.) Each output list is
     * usually on its input's device. One input and one output list run exactly {@link #allGather(List, NDArray)}.
     *
     * @param outputs one list per input, each of {@link #size()} × {@code inputs.size()} arrays of the inputs' dtype
     *     and shape
     * @param inputs one or more arrays of one dtype and shape, as in {@link #allReduceMultiGpu}
     * @throws IllegalArgumentException on every rank if a rank's inputs are wrong (see {@link #allReduceMultiGpu}) or
     *     its outputs do not fit them, or if the ranks' input lists differ in length, dtype or shape
     */
    public void allGatherMultiGpu(List<List<NDArray>> outputs, List<NDArray> inputs) {
        allGatherMultiGpuAsync(outputs, inputs).await(timeout);
    }

    /**
     * As {@link #allGatherMultiGpu}, asynchronously.
     *
     * @param outputs the lists that receive; they must stay open until the work is done
     * @param inputs the arrays to contribute
     * @return the work
     */
    public Work<Void> allGatherMultiGpuAsync(List<List<NDArray>> outputs, List<NDArray> inputs) {
        List<NDArray> in = copy(inputs);
        List<List<NDArray>> out = outputs == null ? null : outputs.stream().map(CollectiveGroup::copy).toList();
        String err = ListCollectives.check("inputs", in);
        if (err == null) {
            err = ListCollectives.checkOutputs(out, in, peers.size());
        }
        if (err == null && in.size() == 1) {
            return gatherWork(arrays(out.get(0)), CollBuffer.of(in.get(0)), EVERY_RANK, "allGatherMultiGpu");
        }
        String error = err;
        return submit("allGatherMultiGpu", d -> {
            shared.lists.allGather(out, in, error, d);
            return null;
        });
    }

    /** A snapshot of a caller's list (nulls kept, for the checks to name), or null. */
    private static List<NDArray> copy(List<NDArray> list) {
        return list == null ? null : new ArrayList<>(list);
    }

    /**
     * Returns once every rank of the group called it.
     *
     * @throws MemberLostException if a rank died
     * @throws GroupTimeoutException if the timeout passed
     */
    public void barrier() {
        barrierAsync().await(timeout);
    }

    /**
     * As {@link #barrier()}, asynchronously.
     *
     * @return the work
     */
    public Work<Void> barrierAsync() {
        return submit("barrier", d -> {
            shared.engine.barrier(d);
            return null;
        });
    }

    // ---------------------------------------------------------------------------------------------- point to point

    /**
     * Sends {@code array} to world rank {@code dst}, which receives it with {@link #recv}; returns once it is sent.
     *
     * @param array a CPU array
     * @param dst the receiving world rank, another rank of the group
     */
    public void send(NDArray array, int dst) {
        isend(array, dst).await(timeout);
    }

    /**
     * As {@link #send(NDArray, int)}, from a shared tensor.
     *
     * @param tensor the tensor
     * @param dst the receiving world rank
     */
    public void send(SharedTensor tensor, int dst) {
        isend(tensor, dst).await(timeout);
    }

    /**
     * As {@link #send(NDArray, int)}, asynchronously.
     *
     * @param array the array; it must stay open until the work is done
     * @param dst the receiving world rank
     * @return the work
     */
    public Work<Void> isend(NDArray array, int dst) {
        return sendWork(CollBuffer.of(array), dst);
    }

    /**
     * As {@link #send(SharedTensor, int)}, asynchronously.
     *
     * @param tensor the tensor
     * @param dst the receiving world rank
     * @return the work
     */
    public Work<Void> isend(SharedTensor tensor, int dst) {
        return sendWork(CollBuffer.of(tensor), dst);
    }

    private Work<Void> sendWork(CollBuffer buf, int dst) {
        int to = peerIndex(dst, "dst");
        if (buf.invalid() != null) {
            throw new IllegalArgumentException("send to rank " + dst + ": " + buf.invalid());
        }
        if (buf.isCuda()) {
            // NCCL kernels share PyTorch's stream with the group's collectives: issued in the group's order
            return submit("send to rank " + dst, d -> {
                shared.nccl.send(buf, to, d);
                return null;
            });
        }
        return p2p("send to rank " + dst, d -> {
            OpHeader h = OpHeader.of(OpHeader.Op.BROADCAST, -1, null, buf, null);
            shared.mesh.await(shared.mesh.sendP2p(to, 0, h, buf.source(), buf.byteSize()), to, d);
            return null;
        });
    }

    /**
     * Receives into {@code array} what world rank {@code src} sent with {@link #send}.
     *
     * @param array a CPU array of the sent dtype and shape
     * @param src the sending world rank
     * @return {@code src}
     * @throws IllegalArgumentException if the sent tensor's dtype or shape differs (the message is consumed)
     */
    public int recv(NDArray array, int src) {
        return irecv(array, src).await(timeout);
    }

    /**
     * Receives into {@code array} the first message any rank sent.
     *
     * @param array a CPU array of the sent dtype and shape
     * @return the sender's world rank
     */
    public int recv(NDArray array) {
        return irecv(array).await(timeout);
    }

    /**
     * As {@link #recv(NDArray, int)}, into a shared tensor.
     *
     * @param tensor a writable tensor
     * @param src the sending world rank, or -1 for any
     * @return the sender's world rank
     */
    public int recv(SharedTensor tensor, int src) {
        return recvWork(CollBuffer.of(tensor), src).await(timeout);
    }

    /**
     * As {@link #recv(NDArray, int)}, asynchronously.
     *
     * @param array the array that receives
     * @param src the sending world rank
     * @return the work, whose result is {@code src}
     */
    public Work<Integer> irecv(NDArray array, int src) {
        return recvWork(CollBuffer.of(array), src);
    }

    /**
     * As {@link #recv(NDArray)}, asynchronously.
     *
     * @param array the array that receives
     * @return the work, whose result is the sender's world rank
     */
    public Work<Integer> irecv(NDArray array) {
        return recvWork(CollBuffer.of(array), -1);
    }

    private Work<Integer> recvWork(CollBuffer buf, int src) {
        int from = src < 0 ? -1 : peerIndex(src, "src");
        if (buf.invalid() != null) {
            throw new IllegalArgumentException("recv from rank " + src + ": " + buf.invalid());
        }
        String what = src < 0 ? "recv from any rank" : "recv from rank " + src;
        if (buf.isCuda()) {
            return submit(what, d -> peers.ranks()[shared.nccl.recv(buf, from, d)]);
        }
        return p2p(what, d -> {
            var m = shared.mesh.takeP2p(from, 0, d);
            OpHeader mine = OpHeader.of(OpHeader.Op.BROADCAST, -1, null, buf, null);
            int sender = peers.ranks()[m.from()];
            if (m.header().device() == OpHeader.CUDA) {
                // a CUDA sender waits for a reply: refuse, so that it fails too instead of timing out
                OpHeader no = new OpHeader(OpHeader.Op.BROADCAST, 0, -1, 0, false, 0, new long[0], OpHeader.HOST, -1);
                shared.mesh.await(shared.mesh.sendP2p(m.from(), NcclEngine.REPLY_TAG, no,
                        java.lang.foreign.MemorySegment.NULL, 0), m.from(), d);
            }
            if (m.header().dtype() != mine.dtype() || !Arrays.equals(m.header().shape(), mine.shape())
                    || m.data().length != buf.byteSize() || m.header().device() != mine.device()) {
                throw new IllegalArgumentException(d.what() + ": rank " + sender + " sent "
                        + m.header().describeDevice() + " dtype code " + m.header().dtype() + " shape "
                        + Arrays.toString(m.header().shape()) + ", this receive expects " + mine.describeDevice()
                        + " dtype code " + mine.dtype() + " shape " + Arrays.toString(mine.shape()));
            }
            java.lang.foreign.MemorySegment.copy(java.lang.foreign.MemorySegment.ofArray(m.data()), 0, buf.target(), 0,
                    buf.byteSize());
            commit(List.of(buf), List.of(buf));
            return sender;
        });
    }

    // ---------------------------------------------------------------------------------------------- machinery

    private <T> Work<T> submit(String op, Function<Deadline, T> body) {
        checkUsable();
        String what = peers.describe(op);
        Deadline[] deadline = new Deadline[1];
        Function<Void, T> run = v -> {
            shared.opLock.lock();
            try {
                checkUsable();
                deadline[0] = Deadline.in(timeout, what);
                return body.apply(deadline[0]);
            } catch (MemberLostException | GroupTimeoutException | IllegalStateException e) {
                shared.broken.compareAndSet(null, e);
                throw e;
            } finally {
                shared.opLock.unlock();
            }
        };
        if (shared.pending.get() == 0 && !shared.opLock.isLocked()) {
            try {
                return new Work<>(CompletableFuture.completedFuture(run.apply(null)), what);
            } catch (RuntimeException e) {
                return new Work<>(CompletableFuture.failedFuture(e), what);
            }
        }
        shared.pending.incrementAndGet();
        CompletableFuture<T> f = CompletableFuture.supplyAsync(() -> run.apply(null), shared.ordered);
        f.whenComplete((x, e) -> shared.pending.decrementAndGet());
        return new Work<>(f, what);
    }

    private <T> Work<T> p2p(String op, Function<Deadline, T> body) {
        checkUsable();
        String what = peers.describe(op);
        return new Work<>(CompletableFuture.supplyAsync(() -> body.apply(Deadline.in(timeout, what)), shared.p2p),
                what);
    }

    /** The engine for a tensor: NCCL for a CUDA NDArray, else the group's host engine. */
    private Engine engine(CollBuffer buf) {
        return buf.isCuda() ? shared.nccl : shared.engine;
    }

    private static Void commit(List<CollBuffer> written, List<CollBuffer> all) {
        for (CollBuffer b : written) {
            b.commit();
        }
        for (CollBuffer b : all) {
            b.release();
        }
        return null;
    }

    private void checkUsable() {
        if (shared.destroyed.get()) {
            throw new IllegalStateException("collective group '" + name() + "' was destroyed");
        }
        RuntimeException cause = shared.broken.get();
        if (cause != null) {
            throw new IllegalStateException("collective group '" + name() + "' is broken by an earlier failure ("
                    + cause.getMessage() + "); destroy it and create a new one", cause);
        }
    }

    private int peerIndex(int rank, String what) {
        int i = peers.indexOf(rank);
        if (i < 0 || i == peers.self()) {
            throw new IllegalArgumentException(what + "=" + rank + " (expected another rank of the group "
                    + ranks() + ")");
        }
        return i;
    }

    /** The root argument of the all- forms, which have none. */
    private static final OptionalInt EVERY_RANK = OptionalInt.empty();

    private String rootError(int root) {
        return "root=" + root + " is not a rank of the group " + ranks();
    }

    private String checkList(String what, CollBuffer[] list, CollBuffer like) {
        if (list == null) {
            return what + " is null (the receiving rank passes one tensor per rank)";
        }
        if (list.length != peers.size()) {
            return what + " has " + list.length + " tensor(s) (expected " + peers.size() + ", one per rank)";
        }
        for (int i = 0; i < list.length; i++) {
            if (list[i].invalid() != null) {
                return what + "[" + i + "]: " + list[i].invalid();
            }
            if (list[i].dtype() != like.dtype() || !Arrays.equals(list[i].shape(), like.shape())) {
                return what + "[" + i + "] is " + list[i].dtype() + " " + Arrays.toString(list[i].shape())
                        + " (expected " + like.dtype() + " " + Arrays.toString(like.shape()) + ")";
            }
        }
        return null;
    }

    private static CollBuffer[] arrays(List<NDArray> list) {
        return list.stream().map(CollBuffer::of).toArray(CollBuffer[]::new);
    }

    private static CollBuffer[] shareds(List<SharedTensor> list) {
        return list.stream().map(CollBuffer::of).toArray(CollBuffer[]::new);
    }

    /**
     * Destroys this member's side: its segment reference, sockets and threads go; a collective in flight on another
     * rank fails there. Idempotent; {@link World#close()} calls it.
     */
    public void destroy() {
        if (!shared.destroyed.compareAndSet(false, true)) {
            return;
        }
        shared.ordered.shutdownNow();
        shared.p2p.shutdownNow();
        try {
            shared.nccl.close();
            shared.engine.close();
        } finally {
            shared.mesh.close();
            try {
                if (!world.members().isEmpty() && !shared.control.isDestroyed()) {
                    shared.control.withTimeout(Duration.ofSeconds(5)).destroy();
                }
            } catch (RuntimeException e) {
                // the control group's table entries go with this member anyway
            } finally {
                world.forget(this);
            }
        }
    }

    /**
     * Whether {@link #destroy()} ran.
     *
     * @return true once destroyed
     */
    public boolean isDestroyed() {
        return shared.destroyed.get();
    }

    private static Duration positive(String option, Duration d) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(option + "=" + d + " (expected > 0)");
        }
        return d;
    }

    @Override
    public String toString() {
        return "CollectiveGroup[" + name() + ", ranks " + ranks() + ", " + shared.transport + "]";
    }

    /**
     * Options of {@link World#createCollectiveGroup(String, List, Options)}. Not thread-safe; each setter checks its
     * own argument. Every rank of a group must pass the same transport.
     */
    public static final class Options {
        private Transport transport = Transport.AUTO;
        private Duration timeout;
        private long slotBytes = 16L << 20;

        private Options() {}

        /**
         * The data path; default {@link Transport#AUTO} (shared memory when every rank is on this host).
         *
         * @param transport the transport
         * @return these options
         */
        public Options optTransport(Transport transport) {
            this.transport = Objects.requireNonNull(transport, "transport");
            return this;
        }

        /**
         * The timeout of creating the group and of each operation; default the World's RPC timeout (60 s).
         *
         * @param timeout a positive duration
         * @return these options
         */
        public Options optTimeout(Duration timeout) {
            this.timeout = positive("timeout", timeout);
            return this;
        }

        /**
         * The bytes of each rank's slot in the shared segment (which holds two per rank); default 16 MiB. Larger data
         * goes in rounds of one slot.
         *
         * @param bytes a multiple of 64, at least 4096
         * @return these options
         */
        public Options optSlotBytes(long bytes) {
            if (bytes < 4096 || bytes % 64 != 0) {
                throw new IllegalArgumentException("slotBytes=" + bytes + " (expected a multiple of 64, >= 4096)");
            }
            this.slotBytes = bytes;
            return this;
        }
    }
}
