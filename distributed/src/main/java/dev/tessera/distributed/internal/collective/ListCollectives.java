package dev.tessera.distributed.internal.collective;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.tessera.distributed.ReduceOp;
import dev.tessera.distributed.internal.collective.OpHeader.Op;
import dev.tessera.sharedmem.DType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * The multi-GPU collectives (torch.distributed's {@code *_multigpu}): each rank passes a list of arrays, usually one
 * per local GPU, and the collective runs over every array of every rank. Not thread-safe: used by the one thread that
 * runs the group's operations. It owns only the scratch arrays of one call, closed before the call returns; the
 * caller's arrays stay the caller's.
 *
 * <p>Algorithm: one single-tensor collective of the group's engine per call, between a local step and a local copy,
 * both with DJL on the first array's device and outside autograd (through detached views).
 * <ul>
 *   <li>All-reduce and reduce combine the list in list order into one scratch array, run the engine's all-reduce or
 *       reduce of it with the caller's op, and copy the result into every array of the list (all-reduce) or into the
 *       root's {@code rootTensor} (reduce). AVG is the engine's mean over the ranks, divided here by the list's
 *       length n: for integers exactly the sum over all ranks × n arrays divided and truncated toward zero
 *       (truncating twice equals truncating once), for floating point within a rounding of it.
 *   <li>Broadcast sends the root's {@code rootTensor} (into every other rank's first array) and copies it into the
 *       rest of each list.
 *   <li>All-gather stacks the list into one [n, ...shape] array, all-gathers that, and copies element j of rank q's
 *       block into position q·n + j of every output list: rank-major, as ProcessGroupNCCL numbers the devices
 *       (NCCL rank q·n + j). torch's documentation prints q·world_size + j, which only agrees when n equals the
 *       world size.
 * </ul>
 *
 * <p>Checks: the one buffer is marked as {@link CollBuffer#standingFor standing for} n arrays, so ranks whose lists
 * differ in length fail in the header exchange like any other mismatch. A local error (a bad argument, or DJL
 * failing during the local step) goes out in this rank's header through the host engine's {@link Engine#agree},
 * which is the first step of every data operation, so every rank fails the collective with
 * {@link IllegalArgumentException} and the group stays usable.
 */
public final class ListCollectives {
    private final Engine host;
    private final Engine cuda;
    private final int self;
    private final int ranks;

    /**
     * Collectives over lists on the group's engines.
     *
     * @param host the shared-memory or TCP engine, whose header exchange every rank's first step goes through
     * @param cuda the NCCL engine, for lists whose first array is on a CUDA device
     * @param peers the group
     */
    public ListCollectives(Engine host, Engine cuda, Peers peers) {
        this.host = host;
        this.cuda = cuda;
        this.self = peers.self();
        this.ranks = peers.size();
    }

    // ------------------------------------------------------------------------------------------------ checks

    /**
     * Why a list of arrays cannot take part, or null: it is null or empty, or an element is null, unusable (see
     * {@link CollBuffer#invalid()}) or of another dtype or shape than the first.
     *
     * @param name the argument's name, for the message
     * @param list the list
     * @return the reason, naming the argument and the element, or null
     */
    public static String check(String name, List<NDArray> list) {
        if (list == null || list.isEmpty()) {
            return name + " is " + (list == null ? "null" : "empty") + " (expected one array per local device)";
        }
        NDArray first = list.get(0);
        for (int i = 0; i < list.size(); i++) {
            NDArray a = list.get(i);
            String bad = unusable(a);
            if (bad != null) {
                return name + "[" + i + "]" + bad;
            }
            if (!sameKind(a, first)) {
                return name + "[" + i + "] is " + describe(a) + " (expected " + describe(first) + ", as " + name
                        + "[0]; every array of a list has one dtype and shape)";
            }
        }
        return null;
    }

    /**
     * Why {@code index} is not an index of {@code list}, or null.
     *
     * @param name the argument's name
     * @param index the index
     * @param list a list that passed {@link #check}
     * @return the reason, or null
     */
    public static String checkIndex(String name, int index, List<NDArray> list) {
        return index >= 0 && index < list.size() ? null : name + "=" + index + " (expected 0 <= " + name + " < "
                + list.size() + ", an index of the list of arrays)";
    }

    /**
     * Why all-gather's outputs do not fit its inputs, or null: one list per input, each of {@code ranks} × inputs
     * arrays of the inputs' dtype and shape.
     *
     * @param outputs the output lists
     * @param inputs inputs that passed {@link #check}
     * @param ranks the group's size
     * @return the reason, naming the list and the element, or null
     */
    public static String checkOutputs(List<List<NDArray>> outputs, List<NDArray> inputs, int ranks) {
        int n = inputs.size();
        if (outputs == null || outputs.size() != n) {
            return "outputs " + (outputs == null ? "is null" : "has " + outputs.size() + " list(s)") + " (expected " + n
                    + ", one per input)";
        }
        for (int i = 0; i < n; i++) {
            List<NDArray> l = outputs.get(i);
            if (l == null || l.size() != ranks * n) {
                return "outputs[" + i + "] " + (l == null ? "is null" : "has " + l.size() + " array(s)")
                        + " (expected " + ranks * n + ": " + ranks + " ranks x " + n + " inputs)";
            }
            for (int j = 0; j < l.size(); j++) {
                NDArray a = l.get(j);
                String bad = unusable(a);
                if (bad != null) {
                    return "outputs[" + i + "][" + j + "]" + bad;
                }
                if (!sameKind(a, inputs.get(0))) {
                    return "outputs[" + i + "][" + j + "] is " + describe(a) + " (expected " + describe(inputs.get(0))
                            + ", as inputs[0])";
                }
            }
        }
        return null;
    }

    /** Why one element cannot take part, as the end of a sentence that names it, or null. */
    private static String unusable(NDArray a) {
        String invalid = a == null ? null : CollBuffer.of(a).invalid();
        return a == null ? " is null" : invalid == null ? null : ": " + invalid;
    }

    private static boolean sameKind(NDArray a, NDArray b) {
        return a.getDataType() == b.getDataType() && a.getShape().equals(b.getShape());
    }

    private static String describe(NDArray a) {
        return a.getDataType() + " " + Arrays.toString(a.getShape().getShape());
    }

    // ------------------------------------------------------------------------------------------------ operations

    /**
     * All-reduce ({@code root < 0}) or reduce to group index {@code root}, whose {@code list.get(rootTensor)} receives
     * the result; {@code list} passed {@link #check} unless {@code localError} says why not.
     */
    public void reduce(List<NDArray> list, ReduceOp op, int root, int rootTensor, String localError, Deadline d) {
        Op code = root < 0 ? Op.ALL_REDUCE : Op.REDUCE;
        refuseIf(localError, code, root, op, d);
        try (NDManager scratch = scratchFor(list)) {
            NDArray sum = locally(code, root, op, d, () -> combine(list, op, scratch));
            CollBuffer buf = CollBuffer.of(sum).standingFor(list.size());
            engine(buf).reduce(buf, op, root, null, d);
            if (root >= 0 && root != self) {
                buf.release();
                return;
            }
            if (op == ReduceOp.AVG && !buf.isCuda()) {
                Reductions.divide(buf.dtype(), buf.target(), 0, buf.byteSize(), list.size()); // before commit
            }
            buf.commit();
            if (op == ReduceOp.AVG && buf.isCuda()) {
                divideOnDevice(sum, list.size(), scratch);
            }
            for (NDArray a : root < 0 ? list : List.of(list.get(rootTensor))) {
                copyInto(a, sum, scratch);
            }
        }
    }

    /** The root's {@code list.get(rootTensor)} lands in every array of every rank's list. */
    public void broadcast(List<NDArray> list, int root, int rootTensor, String localError, Deadline d) {
        refuseIf(localError, Op.BROADCAST, root, null, d);
        NDArray carrier = list.get(root == self ? rootTensor : 0);
        CollBuffer buf = CollBuffer.of(carrier).standingFor(list.size());
        engine(buf).broadcast(buf, root, null, d);
        if (root == self) {
            buf.release();
        } else {
            buf.commit();
        }
        try (NDManager scratch = scratchFor(list)) {
            for (NDArray a : list) {
                if (a != carrier) {
                    copyInto(a, carrier, scratch);
                }
            }
        }
    }

    /** Every rank's every input lands in every output list, rank-major (see the class comment). */
    public void allGather(List<List<NDArray>> outputs, List<NDArray> inputs, String localError, Deadline d) {
        refuseIf(localError, Op.ALL_GATHER, -1, null, d);
        int n = inputs.size();
        try (NDManager scratch = scratchFor(inputs)) {
            NDArray[] blocks = new NDArray[ranks];
            NDArray stacked = locally(Op.ALL_GATHER, -1, null, d, () -> {
                for (int q = 0; q < ranks; q++) {
                    blocks[q] = scratch.zeros(new Shape(withCount(n, inputs.get(0))),
                            inputs.get(0).getDataType());
                }
                return stack(inputs, scratch);
            });
            CollBuffer in = CollBuffer.of(stacked).standingFor(n);
            CollBuffer[] out = Arrays.stream(blocks).map(CollBuffer::of).toArray(CollBuffer[]::new);
            engine(in).gather(out, in, -1, null, d);
            in.release();
            for (CollBuffer b : out) {
                b.commit();
            }
            for (List<NDArray> list : outputs) {
                for (int q = 0; q < ranks; q++) {
                    for (int j = 0; j < n; j++) {
                        copyInto(list.get(q * n + j), blocks[q].get(scratch, j), scratch);
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ local steps

    private Engine engine(CollBuffer buf) {
        return buf.isCuda() ? cuda : host;
    }

    /** Fails the collective on every rank with {@code error}, through the header exchange, if it is non-null. */
    private void refuseIf(String error, Op code, int root, ReduceOp op, Deadline d) {
        if (error != null) {
            host.agree(OpHeader.of(code, root, op, null, error), error, d);
            throw new IllegalStateException(d.what() + ": the header exchange accepted a rank that rejected its own "
                    + "arguments (a bug)");
        }
    }

    /** Runs a local step; if DJL fails in it, every rank fails the collective with the reason. */
    private <T> T locally(Op code, int root, ReduceOp op, Deadline d, Supplier<T> step) {
        try {
            return step.get();
        } catch (RuntimeException e) {
            refuseIf("the local step failed (" + e + ")", code, root, op, d);
            throw e;
        }
    }

    private static NDManager scratchFor(List<NDArray> list) {
        NDArray first = list.get(0);
        return first.getManager().newSubManager(first.getDevice());
    }

    /** The list combined in list order on its first array's device (AVG: summed), in a new scratch array. */
    private static NDArray combine(List<NDArray> list, ReduceOp op, NDManager scratch) {
        Device device = list.get(0).getDevice();
        NDArray acc = own(detached(list.get(0), scratch).toDevice(device, true), scratch);
        for (int i = 1; i < list.size(); i++) {
            NDArray x = on(device, list.get(i), scratch);
            acc = own(switch (op) {
                case SUM, AVG -> acc.add(x);
                case PRODUCT -> acc.mul(x);
                case MIN -> acc.minimum(x);
                case MAX -> acc.maximum(x);
            }, scratch);
        }
        return acc;
    }

    private static NDArray stack(List<NDArray> list, NDManager scratch) {
        Device device = list.get(0).getDevice();
        NDList views = new NDList();
        for (NDArray a : list) {
            views.add(on(device, a, scratch));
        }
        return own(NDArrays.stack(views), scratch);
    }

    private static long[] withCount(int n, NDArray like) {
        long[] shape = like.getShape().getShape();
        long[] out = new long[shape.length + 1];
        out[0] = n;
        System.arraycopy(shape, 0, out, 1, shape.length);
        return out;
    }

    /** {@code a} as a detached array on {@code device}: a view if it is there, else a copy; owned by scratch. */
    private static NDArray on(Device device, NDArray a, NDManager scratch) {
        NDArray v = detached(a, scratch);
        return v.getDevice().equals(device) ? v : own(v.toDevice(device, false), scratch);
    }

    private static NDArray detached(NDArray a, NDManager scratch) {
        return own(a.stopGradient(), scratch);
    }

    private static NDArray own(NDArray a, NDManager scratch) {
        a.attach(scratch);
        return a;
    }

    /**
     * Divides a CUDA result by {@code n}: floating point on the device; integers through host memory with the host
     * engines' kernel, which truncates toward zero as AVG does everywhere (PyTorch's division of an integer tensor
     * would not stay an integer).
     */
    private static void divideOnDevice(NDArray a, int n, NDManager scratch) {
        DType t = DType.fromDjl(a.getDataType());
        if (n == 1) {
            return;
        }
        if (t == DType.FLOAT16 || t == DType.BFLOAT16 || t == DType.FLOAT32 || t == DType.FLOAT64) {
            a.divi(n);
            return;
        }
        ByteBuffer view = own(a.toDevice(Device.cpu(), true), scratch).toByteBuffer();
        ByteBuffer bytes = ByteBuffer.allocateDirect(view.remaining()).order(ByteOrder.nativeOrder());
        bytes.put(view).flip();
        Reductions.divide(t, MemorySegment.ofBuffer(bytes), 0, bytes.remaining(), n);
        copyInto(a, own(scratch.create(bytes, a.getShape(), a.getDataType()), scratch), scratch);
        java.lang.ref.Reference.reachabilityFence(bytes); // the array made from it may be a view of it until copied
    }

    /**
     * Writes {@code from} into {@code into}'s own storage, through a detached view (views of {@code into} see it; a
     * parameter that requires a gradient may not be written in place while autograd records).
     */
    private static void copyInto(NDArray into, NDArray from, NDManager scratch) {
        NDArray src = from.getDevice().equals(into.getDevice()) ? from
                : own(from.toDevice(into.getDevice(), false), scratch);
        try (NDArray storage = into.stopGradient()) {
            storage.set(new NDIndex("..."), src);
        }
    }
}
