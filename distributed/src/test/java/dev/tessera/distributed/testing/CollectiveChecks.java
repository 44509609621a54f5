package dev.tessera.distributed.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.tessera.distributed.CollectiveGroup;
import dev.tessera.distributed.ReduceOp;
import dev.tessera.distributed.Work;
import dev.tessera.distributed.internal.collective.Deadline;
import dev.tessera.distributed.internal.collective.Engine;
import dev.tessera.distributed.internal.collective.OpHeader;
import dev.tessera.sharedmem.DType;
import dev.tessera.sharedmem.SharedTensor;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Every CollectiveGroup method against values each rank computes for itself; run by every rank of a group (this JVM
 * and child JVMs alike), it throws AssertionError naming the first wrong value.
 */
public final class CollectiveChecks {
    private CollectiveChecks() {}

    public static void run(CollectiveGroup g, int rank) {
        List<Integer> ranks = g.ranks();
        int k = ranks.size();
        int last = ranks.get(k - 1);
        float sumR1 = 0;
        float prodR1 = 1;
        for (int r : ranks) {
            sumR1 += r + 1;
            prodR1 *= r + 1;
        }
        try (NDManager m = NDManager.newBaseManager()) {
            // all-reduce: every op, three dtypes
            for (ReduceOp op : ReduceOp.values()) {
                NDArray a = m.create(new float[] {rank + 1, 2 * (rank + 1), -(rank + 1)});
                g.allReduce(a, op);
                float lo = ranks.get(0) + 1;
                float hi = last + 1;
                float[] want = switch (op) {
                    case SUM -> new float[] {sumR1, 2 * sumR1, -sumR1};
                    case PRODUCT -> new float[] {prodR1, prodR1 * (float) Math.pow(2, k), prodR1 * (k % 2 == 0 ? 1 : -1)};
                    case MIN -> new float[] {lo, 2 * lo, -hi};
                    case MAX -> new float[] {hi, 2 * hi, -lo};
                    case AVG -> new float[] {sumR1 / k, 2 * sumR1 / k, -sumR1 / k};
                };
                check("allReduce " + op, want, a.toFloatArray());
            }
            NDArray ints = m.create(new int[] {rank, 1000 * rank});
            g.allReduce(ints, ReduceOp.SUM);
            int sumR = ranks.stream().mapToInt(Integer::intValue).sum();
            check("allReduce int32", new int[] {sumR, 1000 * sumR}, ints.toIntArray());
            NDArray doubles = m.create(new double[] {rank * 0.5});
            g.allReduce(doubles, ReduceOp.MAX);
            check("allReduce float64", new double[] {last * 0.5}, doubles.toDoubleArray());

            // large: several rounds of a small slot, reduce-scattered
            int n = 100_003;
            float[] big = new float[n];
            for (int i = 0; i < n; i++) {
                big[i] = i % 7 + rank;
            }
            NDArray b = m.create(big);
            g.allReduce(b, ReduceOp.SUM);
            float[] got = b.toFloatArray();
            for (int i = 0; i < n; i++) {
                if (got[i] != k * (i % 7) + sumR) {
                    throw new AssertionError("allReduce large: element " + i + " is " + got[i] + ", expected "
                            + (k * (i % 7) + sumR));
                }
            }

            multiFrame(m, g, rank);

            // reduce to the last rank: the others keep theirs
            NDArray red = m.create(new float[] {rank + 1});
            g.reduce(red, last, ReduceOp.SUM);
            check("reduce", new float[] {rank == last ? sumR1 : rank + 1}, red.toFloatArray());

            // broadcast from the second rank
            int root = ranks.get(Math.min(1, k - 1));
            NDArray bc = rank == root ? m.create(new float[] {10, 20, 30}) : m.zeros(new Shape(3), DataType.FLOAT32);
            g.broadcast(bc, root);
            check("broadcast", new float[] {10, 20, 30}, bc.toFloatArray());

            // all-gather and gather
            List<NDArray> outs = zeros(m, k, 2);
            g.allGather(outs, m.create(new float[] {rank, -rank}));
            for (int i = 0; i < k; i++) {
                check("allGather[" + i + "]", new float[] {ranks.get(i), -ranks.get(i)}, outs.get(i).toFloatArray());
            }
            int gatherRoot = ranks.get(0);
            List<NDArray> gathered = rank == gatherRoot ? zeros(m, k, 1) : null;
            g.gather(gathered, m.create(new float[] {rank * 3}), gatherRoot);
            if (gathered != null) {
                for (int i = 0; i < k; i++) {
                    check("gather[" + i + "]", new float[] {ranks.get(i) * 3}, gathered.get(i).toFloatArray());
                }
            }

            // scatter from the last rank
            List<NDArray> inputs = null;
            if (rank == last) {
                inputs = new ArrayList<>();
                for (int i = 0; i < k; i++) {
                    inputs.add(m.create(new float[] {100 + i, 200 + i}));
                }
            }
            NDArray sc = m.zeros(new Shape(2), DataType.FLOAT32);
            g.scatter(sc, inputs, last);
            int me = ranks.indexOf(rank);
            check("scatter", new float[] {100 + me, 200 + me}, sc.toFloatArray());

            g.barrier();

            // async: two in flight, completed in issue order
            NDArray x = m.create(new float[] {1});
            NDArray y = m.create(new float[] {rank});
            Work<Void> wx = g.allReduceAsync(x, ReduceOp.SUM);
            Work<Void> wy = g.allReduceAsync(y, ReduceOp.MAX);
            wy.await(Duration.ofSeconds(30));
            wx.await(Duration.ofSeconds(30));
            check("allReduceAsync", new float[] {k}, x.toFloatArray());
            check("allReduceAsync 2", new float[] {last}, y.toFloatArray());

            // shared tensors, in place
            try (SharedTensor t = SharedTensor.allocate(DType.FLOAT32, 2)) {
                t.segment().set(ValueLayout.JAVA_FLOAT, 0, rank);
                t.segment().set(ValueLayout.JAVA_FLOAT, 4, 1);
                g.allReduce(t, ReduceOp.SUM);
                check("allReduce SharedTensor", new float[] {sumR, k}, new float[] {
                        t.segment().get(ValueLayout.JAVA_FLOAT, 0), t.segment().get(ValueLayout.JAVA_FLOAT, 4)});
            }

            // point to point: a ring of isend, then irecv from the previous rank, then one from any rank
            if (k > 1) {
                int next = ranks.get((me + 1) % k);
                int prev = ranks.get((me + k - 1) % k);
                Work<Void> s1 = g.isend(m.create(new float[] {rank, 7}), next);
                NDArray in1 = m.zeros(new Shape(2), DataType.FLOAT32);
                int from = g.recv(in1, prev);
                s1.await(Duration.ofSeconds(30));
                check("recv", new float[] {prev, 7}, in1.toFloatArray());
                if (from != prev) {
                    throw new AssertionError("recv returned " + from + ", expected " + prev);
                }
                g.send(m.create(new float[] {rank * 2}), next);
                NDArray in2 = m.zeros(new Shape(1), DataType.FLOAT32);
                int any = g.irecv(in2).await(Duration.ofSeconds(30));
                if (any != prev) {
                    throw new AssertionError("irecv from any returned " + any + ", expected " + prev);
                }
                check("irecv any", new float[] {prev * 2}, in2.toFloatArray());
            }
            // a negative root fails on every rank, naming it; it is not the all- form (it quietly was)
            for (String op : List.of("reduce", "gather")) {
                NDArray mine = m.create(new float[] {rank + 1});
                try {
                    if (op.equals("reduce")) {
                        g.reduce(mine, -1, ReduceOp.SUM);
                    } else {
                        g.gather(zeros(m, k, 1), mine, -1);
                    }
                    throw new AssertionError(op + " with root=-1 did not fail");
                } catch (IllegalArgumentException e) {
                    if (!e.getMessage().contains("root=-1")) {
                        throw new AssertionError(op + " with root=-1: " + e.getMessage(), e);
                    }
                }
                check(op + " with root=-1 leaves the input", new float[] {rank + 1}, mine.toFloatArray());
            }
            g.barrier();
        }
    }

    /**
     * Messages of many 1 MiB TCP frames: an all-reduce of 3 MiB and 20 bytes, whose parts start and end inside frames,
     * and a gather of 12 MiB from each rank, whose root takes one rank's frames while the next rank's queue up beyond
     * the receiving pool. The values differ along each frame, so a frame placed or reused wrongly shows.
     */
    private static void multiFrame(NDManager m, CollectiveGroup g, int rank) {
        List<Integer> ranks = g.ranks();
        int k = ranks.size();
        int sumR = ranks.stream().mapToInt(Integer::intValue).sum();
        int n = 3 * (1 << 18) + 5;
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = i % 1009 + rank;
        }
        NDArray x = m.create(a);
        g.allReduce(x, ReduceOp.SUM);
        float[] got = x.toFloatArray();
        for (int i = 0; i < n; i++) {
            if (got[i] != k * (i % 1009) + sumR) {
                throw new AssertionError("allReduce multi-frame: element " + i + " is " + got[i] + ", expected "
                        + (k * (i % 1009) + sumR));
            }
        }
        int root = ranks.get(0);
        int big = 12 << 18;
        float[] mine = new float[big];
        for (int i = 0; i < big; i++) {
            mine[i] = i + rank * 7;
        }
        List<NDArray> out = rank == root ? zeros(m, k, big) : null;
        g.gather(out, m.create(mine), root);
        if (out != null) {
            for (int q = 0; q < k; q++) {
                float[] f = out.get(q).toFloatArray();
                for (int i = 0; i < big; i++) {
                    if (f[i] != i + ranks.get(q) * 7) {
                        throw new AssertionError("gather multi-frame[" + q + "]: element " + i + " is " + f[i]
                                + ", expected " + (i + ranks.get(q) * 7));
                    }
                }
            }
        }
    }

    /** Every rank passes a tensor of another shape (or dtype); every rank must get IllegalArgumentException. */
    public static String mismatch(CollectiveGroup g, int rank, String kind) {
        if (kind.equals("device")) {
            return deviceMismatch(g, rank);
        }
        boolean dtype = kind.equals("dtype");
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = dtype && rank == g.ranks().get(0) ? m.create(new int[] {1, 2})
                    : m.create(new float[dtype ? 2 : rank + 2]);
            try {
                g.allReduce(a, ReduceOp.SUM);
                return "no exception";
            } catch (IllegalArgumentException e) {
                g.barrier(); // the group stays usable
                return e.getMessage().contains(dtype ? "int32" : "differ") ? "IAE" : "IAE without the cause: "
                        + e.getMessage();
            }
        }
    }

    /**
     * The first rank stands for a rank with a CUDA tensor: it sends the header the NCCL engine would send (float32
     * [2] on cuda:0) through the group's host engine, exactly as the NCCL engine starts; the others all-reduce a CPU
     * float32 [2]. Every rank must fail with the device kinds named, and the group stay usable.
     */
    private static String deviceMismatch(CollectiveGroup g, int rank) {
        try (NDManager m = NDManager.newBaseManager()) {
            try {
                if (rank == g.ranks().get(0)) {
                    OpHeader cuda = new OpHeader(OpHeader.Op.ALL_REDUCE, -1, ReduceOp.SUM.ordinal(),
                            DType.FLOAT32.code(), true, 8, new long[] {2}, OpHeader.CUDA, 0);
                    hostEngine(g).agree(cuda, null, Deadline.in(Duration.ofSeconds(30), "allReduce (as with CUDA)"));
                } else {
                    g.allReduce(m.create(new float[] {1, 2}), ReduceOp.SUM);
                }
                return "no exception";
            } catch (IllegalArgumentException e) {
                g.barrier();
                return e.getMessage().contains("different kinds of device") && e.getMessage().contains("cuda:0")
                        && e.getMessage().contains("the CPU") ? "IAE" : "IAE without the cause: " + e.getMessage();
            }
        }
    }

    /** The group's host engine (shared memory or TCP), which a test reaches only by reflection. */
    public static Engine hostEngine(CollectiveGroup g) {
        try {
            java.lang.reflect.Field shared = CollectiveGroup.class.getDeclaredField("shared");
            shared.setAccessible(true);
            Object s = shared.get(g);
            java.lang.reflect.Field engine = s.getClass().getDeclaredField("engine");
            engine.setAccessible(true);
            return (Engine) engine.get(s);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("CollectiveGroup no longer holds shared.engine: " + e, e);
        }
    }

    private static List<NDArray> zeros(NDManager m, int k, int len) {
        List<NDArray> l = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            l.add(m.zeros(new Shape(len), DataType.FLOAT32));
        }
        return l;
    }

    /** Fails naming {@code what} unless {@code got} equals {@code want}; shared with {@link MultiGpuChecks}. */
    static void check(String what, float[] want, float[] got) {
        if (!Arrays.equals(want, got)) {
            throw new AssertionError(what + ": " + Arrays.toString(got) + ", expected " + Arrays.toString(want));
        }
    }

    static void check(String what, int[] want, int[] got) {
        if (!Arrays.equals(want, got)) {
            throw new AssertionError(what + ": " + Arrays.toString(got) + ", expected " + Arrays.toString(want));
        }
    }

    private static void check(String what, double[] want, double[] got) {
        if (!Arrays.equals(want, got)) {
            throw new AssertionError(what + ": " + Arrays.toString(got) + ", expected " + Arrays.toString(want));
        }
    }
}
