package dev.tessera.distributed.testing;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.tessera.distributed.CollectiveGroup;
import dev.tessera.distributed.ReduceOp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Every CollectiveGroup method on CUDA tensors, with values that depend on the rank so that each result can be
 * computed here and compared; run by every rank of a group at once (rank i on cuda:i, or cuda:0 alone). Throws
 * AssertionError on the first wrong value.
 */
public final class NcclChecks {
    private NcclChecks() {}

    /** The CUDA device of group index {@code i} in a group of {@code k}. */
    public static Device deviceOf(int i) {
        return Device.gpu(i);
    }

    public static void run(CollectiveGroup g, int rank) {
        int k = g.size();
        int i = g.ranks().indexOf(rank);
        int first = g.ranks().get(0);
        int last = g.ranks().get(k - 1);
        try (NDManager m = NDManager.newBaseManager(deviceOf(i))) {
            for (ReduceOp op : ReduceOp.values()) {
                NDArray a = m.create(values(i));
                g.allReduce(a, op);
                check("allReduce " + op, expected(k, op), a);
            }
            NDArray l = m.create(new long[] {i + 1L, 1L << 40});
            g.allReduce(l, ReduceOp.SUM);
            check("allReduce int64", new long[] {(long) k * (k + 1) / 2, (long) k << 40}, l.toLongArray());

            NDArray r = m.create(values(i));
            g.reduce(r, last, ReduceOp.SUM);
            check("reduce to " + last, rank == last ? expected(k, ReduceOp.SUM) : values(i), r);

            NDArray b = m.create(values(i));
            g.broadcast(b, first);
            check("broadcast from " + first, values(0), b);

            NDArray in = m.create(new float[] {i, i + 0.5f});
            List<NDArray> all = zeros(m, k);
            g.allGather(all, in);
            for (int j = 0; j < k; j++) {
                check("allGather[" + j + "]", new float[] {j, j + 0.5f}, all.get(j));
            }
            List<NDArray> gathered = rank == first ? zeros(m, k) : null;
            g.gather(gathered, in, first);
            for (int j = 0; rank == first && j < k; j++) {
                check("gather[" + j + "]", new float[] {j, j + 0.5f}, gathered.get(j));
            }
            List<NDArray> parts = new ArrayList<>();
            for (int j = 0; rank == first && j < k; j++) {
                parts.add(m.create(new float[] {10 * j, 10 * j + 1}));
            }
            NDArray out = m.zeros(new Shape(2), DataType.FLOAT32);
            g.scatter(out, rank == first ? parts : null, first);
            check("scatter", new float[] {10 * i, 10 * i + 1}, out);

            // a strided view: reduced through a contiguous copy, written back into the base tensor
            NDArray base = m.arange(0f, 6f).reshape(2, 3).add(i);
            NDArray t = base.transpose();
            g.allReduce(t, ReduceOp.SUM);
            float[] want = new float[6];
            for (int e = 0; e < 6; e++) {
                want[e] = k * e + (float) k * (k - 1) / 2;
            }
            check("allReduce of a transposed view (its base)", want, base);

            try {
                g.allReduce(m.create(new boolean[] {true, false}), ReduceOp.SUM);
                throw new AssertionError("a boolean all-reduce on CUDA was not refused");
            } catch (IllegalArgumentException e) {
                if (!e.getMessage().contains("rejected") && !e.getMessage().contains("cannot reduce")) {
                    throw new AssertionError("unexpected message: " + e.getMessage(), e);
                }
            }
            g.barrier(); // the group is still usable

            try (NDManager cpu = NDManager.newBaseManager(Device.cpu())) {
                NDArray c = cpu.create(values(i));
                g.allReduce(c, ReduceOp.MAX); // the host engine still serves CPU tensors in the same group
                check("CPU allReduce after CUDA ones", expected(k, ReduceOp.MAX), c);
            }

            if (k >= 2) {
                if (i == 0) {
                    g.send(m.create(new float[] {7, 8, 9}), g.ranks().get(1));
                    NDArray back = m.zeros(new Shape(3), DataType.FLOAT32);
                    int from = g.recv(back);
                    check("recv from any rank: the sender", new long[] {g.ranks().get(1)}, new long[] {from});
                    check("recv from any rank", new float[] {9, 8, 7}, back);
                } else if (i == 1) {
                    NDArray got = m.zeros(new Shape(3), DataType.FLOAT32);
                    g.recv(got, first);
                    check("recv from " + first, new float[] {7, 8, 9}, got);
                    g.send(m.create(new float[] {9, 8, 7}), first);
                }
            }
            g.barrier();
        }
    }

    private static float[] values(int i) {
        return new float[] {i + 1, 2 * (i + 1), -(i + 1)};
    }

    private static float[] expected(int k, ReduceOp op) {
        float[] acc = values(0);
        for (int j = 1; j < k; j++) {
            float[] v = values(j);
            for (int e = 0; e < acc.length; e++) {
                acc[e] = switch (op) {
                    case SUM, AVG -> acc[e] + v[e];
                    case PRODUCT -> acc[e] * v[e];
                    case MIN -> Math.min(acc[e], v[e]);
                    case MAX -> Math.max(acc[e], v[e]);
                };
            }
        }
        if (op == ReduceOp.AVG) {
            for (int e = 0; e < acc.length; e++) {
                acc[e] /= k;
            }
        }
        return acc;
    }

    private static List<NDArray> zeros(NDManager m, int k) {
        List<NDArray> l = new ArrayList<>();
        for (int j = 0; j < k; j++) {
            l.add(m.zeros(new Shape(2), DataType.FLOAT32));
        }
        return l;
    }

    private static void check(String what, float[] want, NDArray got) {
        float[] g = got.toFloatArray();
        for (int e = 0; e < want.length; e++) {
            if (g.length != want.length || Math.abs(g[e] - want[e]) > 1e-5f * Math.max(1, Math.abs(want[e]))) {
                throw new AssertionError(what + " on " + got.getDevice() + ": " + Arrays.toString(g) + ", expected "
                        + Arrays.toString(want));
            }
        }
    }

    private static void check(String what, long[] want, long[] got) {
        if (!Arrays.equals(want, got)) {
            throw new AssertionError(what + ": " + Arrays.toString(got) + ", expected " + Arrays.toString(want));
        }
    }
}
