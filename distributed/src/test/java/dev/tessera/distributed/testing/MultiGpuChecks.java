package dev.tessera.distributed.testing;

import static dev.tessera.distributed.testing.CollectiveChecks.check;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.tessera.distributed.CollectiveGroup;
import dev.tessera.distributed.ReduceOp;
import dev.tessera.distributed.Work;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

/**
 * The multi-GPU collectives ({@code allReduceMultiGpu} and the rest) on CPU arrays, run by every rank of a group at
 * once (this JVM and child JVMs alike): values for lists of 1, 2 and 3 arrays, a list of one meeting the single-array
 * method on other ranks, async variants, and every argument error failing on every rank with the argument named.
 * Group index q's array j holds v = q·n + j + 1, so every array of every rank is distinct and each result can be
 * computed by hand. Throws AssertionError naming the first wrong value.
 */
public final class MultiGpuChecks {
    private static final Duration WAIT = Duration.ofSeconds(30);

    private MultiGpuChecks() {}

    public static void run(CollectiveGroup g, int rank) {
        for (int n = 1; n <= 3; n++) {
            values(g, rank, n);
        }
        singleMeetsListOfOne(g, rank);
        async(g, rank);
        errors(g, rank);
    }

    private static void values(CollectiveGroup g, int rank, int n) {
        List<Integer> ranks = g.ranks();
        int w = ranks.size();
        int me = ranks.indexOf(rank);
        int total = w * n;
        float s = total * (total + 1) / 2f;
        float p = 1;
        for (int i = 2; i <= total; i++) {
            p *= i;
        }
        String at = " (lists of " + n + ")";
        try (NDManager m = NDManager.newBaseManager()) {
            for (ReduceOp op : ReduceOp.values()) {
                List<NDArray> l = list(n, j -> {
                    float v = me * n + j + 1;
                    return m.create(new float[] {v, 2 * v, -v});
                });
                g.allReduceMultiGpu(l, op);
                float[] want = switch (op) {
                    case SUM -> new float[] {s, 2 * s, -s};
                    case PRODUCT -> new float[] {p, p * (float) Math.pow(2, total), total % 2 == 0 ? p : -p};
                    case MIN -> new float[] {1, 2, -total};
                    case MAX -> new float[] {total, 2 * total, -1};
                    case AVG -> new float[] {s / total, 2 * s / total, -s / total};
                };
                for (int j = 0; j < n; j++) {
                    check("allReduceMultiGpu " + op + "[" + j + "]" + at, want, l.get(j).toFloatArray());
                }
            }
            // integers: AVG divides the sum by ranks x arrays and truncates toward zero (-285 / 9 is -31, not -32)
            int squares = total * (total + 1) * (2 * total + 1) / 6;
            for (ReduceOp op : List.of(ReduceOp.SUM, ReduceOp.AVG)) {
                List<NDArray> l = list(n, j -> {
                    int v = me * n + j + 1;
                    return m.create(new int[] {v * v, -v * v, 1});
                });
                g.allReduceMultiGpu(l, op);
                int[] want = op == ReduceOp.SUM ? new int[] {squares, -squares, total}
                        : new int[] {squares / total, -squares / total, 1};
                for (int j = 0; j < n; j++) {
                    check("allReduceMultiGpu int32 " + op + "[" + j + "]" + at, want, l.get(j).toIntArray());
                }
            }

            // reduce into the last rank's array n-1; every other array keeps its value
            int last = ranks.get(w - 1);
            for (ReduceOp op : List.of(ReduceOp.SUM, ReduceOp.AVG)) {
                List<NDArray> l = list(n, j -> m.create(new float[] {me * n + j + 1}));
                g.reduceMultiGpu(l, last, op, n - 1);
                for (int j = 0; j < n; j++) {
                    float want = rank == last && j == n - 1 ? (op == ReduceOp.SUM ? s : s / total) : me * n + j + 1;
                    check("reduceMultiGpu " + op + "[" + j + "]" + at, new float[] {want}, l.get(j).toFloatArray());
                }
            }

            // broadcast the second rank's array n/2 into every array of every list, the root's own included
            int root = ranks.get(1 % w);
            int rootTensor = n / 2;
            List<NDArray> b = list(n, j -> rank == root ? m.create(new float[] {100 * j + 7, 100 * j + 8})
                    : m.zeros(new Shape(2), DataType.FLOAT32));
            g.broadcastMultiGpu(b, root, rootTensor);
            for (int j = 0; j < n; j++) {
                check("broadcastMultiGpu[" + j + "]" + at, new float[] {100 * rootTensor + 7, 100 * rootTensor + 8},
                        b.get(j).toFloatArray());
            }

            // all-gather of [1, 2] arrays: output i, element q*n + j is group index q's input j
            List<NDArray> in = list(n, j -> {
                float v = me * n + j + 1;
                return m.create(new float[] {v, -v}, new Shape(1, 2));
            });
            List<List<NDArray>> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                out.add(list(total, x -> m.zeros(new Shape(1, 2), DataType.FLOAT32)));
            }
            g.allGatherMultiGpu(out, in);
            for (int i = 0; i < n; i++) {
                for (int q = 0; q < w; q++) {
                    for (int j = 0; j < n; j++) {
                        float v = q * n + j + 1;
                        NDArray got = out.get(i).get(q * n + j);
                        check("allGatherMultiGpu[" + i + "][" + (q * n + j) + "]" + at, new float[] {v, -v},
                                got.toFloatArray());
                        if (!got.getShape().equals(new Shape(1, 2))) {
                            throw new AssertionError("allGatherMultiGpu: shape " + got.getShape() + at);
                        }
                    }
                }
            }
        }
    }

    /** A list of one on the first rank is the single-array call that the other ranks make: they meet and agree. */
    private static void singleMeetsListOfOne(CollectiveGroup g, int rank) {
        List<Integer> ranks = g.ranks();
        int w = ranks.size();
        int me = ranks.indexOf(rank);
        boolean listed = me == 0;
        int last = ranks.get(w - 1);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.create(new float[] {me + 1});
            if (listed) {
                g.allReduceMultiGpu(List.of(a), ReduceOp.SUM);
            } else {
                g.allReduce(a, ReduceOp.SUM);
            }
            check("allReduceMultiGpu of one with allReduce", new float[] {w * (w + 1) / 2f}, a.toFloatArray());

            NDArray r = m.create(new float[] {me + 1});
            if (listed) {
                g.reduceMultiGpu(List.of(r), last, ReduceOp.MAX, 0);
            } else {
                g.reduce(r, last, ReduceOp.MAX);
            }
            check("reduceMultiGpu of one with reduce", new float[] {rank == last ? w : me + 1}, r.toFloatArray());

            NDArray b = m.create(new float[] {me * 10});
            if (listed) {
                g.broadcastMultiGpu(List.of(b), last, 0);
            } else {
                g.broadcast(b, last);
            }
            check("broadcastMultiGpu of one with broadcast", new float[] {(w - 1) * 10}, b.toFloatArray());

            List<NDArray> out = list(w, x -> m.zeros(new Shape(1), DataType.FLOAT32));
            NDArray in = m.create(new float[] {me + 5});
            if (listed) {
                g.allGatherMultiGpu(List.of(out), List.of(in));
            } else {
                g.allGather(out, in);
            }
            for (int q = 0; q < w; q++) {
                check("allGatherMultiGpu of one with allGather[" + q + "]", new float[] {q + 5},
                        out.get(q).toFloatArray());
            }
        }
    }

    /** The four async variants in flight at once with lists of two, awaited in reverse: they ran in issue order. */
    private static void async(CollectiveGroup g, int rank) {
        List<Integer> ranks = g.ranks();
        int w = ranks.size();
        int me = ranks.indexOf(rank);
        int n = 2;
        int total = w * n;
        int last = ranks.get(w - 1);
        try (NDManager m = NDManager.newBaseManager()) {
            List<NDArray> a = list(n, j -> m.create(new float[] {me * n + j + 1}));
            List<NDArray> r = list(n, j -> m.create(new float[] {me * n + j + 1}));
            List<NDArray> b = list(n, j -> m.create(new float[] {rank == last ? 40 + j : -1}));
            List<NDArray> in = list(n, j -> m.create(new float[] {me * n + j + 1}));
            List<List<NDArray>> out = List.of(list(total, x -> m.zeros(new Shape(1), DataType.FLOAT32)),
                    list(total, x -> m.zeros(new Shape(1), DataType.FLOAT32)));
            // the all-reduce's result feeds the broadcast's root value only through issue order
            Work<Void> w1 = g.allReduceMultiGpuAsync(a, ReduceOp.MAX);
            Work<Void> w2 = g.reduceMultiGpuAsync(r, last, ReduceOp.SUM, 0);
            Work<Void> w3 = g.broadcastMultiGpuAsync(b, last, 1);
            Work<Void> w4 = g.allGatherMultiGpuAsync(out, in);
            w4.await(WAIT);
            w3.await(WAIT);
            w2.await(WAIT);
            w1.await(WAIT);
            for (int j = 0; j < n; j++) {
                check("allReduceMultiGpuAsync[" + j + "]", new float[] {total}, a.get(j).toFloatArray());
                float red = rank == last && j == 0 ? total * (total + 1) / 2f : me * n + j + 1;
                check("reduceMultiGpuAsync[" + j + "]", new float[] {red}, r.get(j).toFloatArray());
                check("broadcastMultiGpuAsync[" + j + "]", new float[] {41}, b.get(j).toFloatArray());
            }
            for (int i = 0; i < n; i++) {
                for (int x = 0; x < total; x++) {
                    check("allGatherMultiGpuAsync[" + i + "][" + x + "]", new float[] {x + 1},
                            out.get(i).get(x).toFloatArray());
                }
            }
        }
    }

    /**
     * Every argument error, made by one rank (the culprit) or by the ranks disagreeing: every rank must get
     * IllegalArgumentException, the culprit's naming the argument and value, the others' naming the culprit; after
     * each, a barrier shows the group still usable.
     */
    private static void errors(CollectiveGroup g, int rank) {
        List<Integer> ranks = g.ranks();
        int w = ranks.size();
        int me = ranks.indexOf(rank);
        int c0 = ranks.get(0);
        int c1 = ranks.get(1 % w);
        int c2 = ranks.get(2 % w);
        try (NDManager m = NDManager.newBaseManager()) {
            IntFunction<List<NDArray>> floats = n -> list(n, j -> m.create(new float[] {1, 2}));
            fails(g, rank, c0, "arrays is empty (expected one array per local device)",
                    "an empty list", () -> g.allReduceMultiGpu(rank == c0 ? List.of() : floats.apply(2), ReduceOp.SUM));
            fails(g, rank, c1, "arrays[1] is null", "a null element", () -> g.reduceMultiGpu(
                    rank == c1 ? Arrays.asList(m.create(new float[] {1, 2}), null) : floats.apply(2), c0,
                    ReduceOp.SUM, 0));
            fails(g, rank, c2, "arrays[1] is float32 [3] (expected float32 [2], as arrays[0]",
                    "another shape within the list", () -> g.allReduceMultiGpu(rank == c2
                            ? List.of(m.create(new float[] {1, 2}), m.create(new float[] {1, 2, 3}))
                            : floats.apply(2), ReduceOp.MAX));
            fails(g, rank, c0, "arrays[2] is int32 [2] (expected float32 [2]", "another dtype within the list",
                    () -> g.broadcastMultiGpu(rank == c0 ? List.of(m.create(new float[] {1, 2}),
                            m.create(new float[] {1, 2}), m.create(new int[] {1, 2})) : floats.apply(3), c1, 0));
            fails(g, rank, c1, "rootTensor=2 (expected 0 <= rootTensor < 2", "broadcast's rootTensor past the list",
                    () -> g.broadcastMultiGpu(floats.apply(2), c1, rank == c1 ? 2 : 0));
            fails(g, rank, c2, "rootTensor=-1 (expected 0 <= rootTensor < 2", "reduce's negative rootTensor",
                    () -> g.reduceMultiGpu(floats.apply(2), c0, ReduceOp.SUM, rank == c2 ? -1 : 0));
            fails(g, rank, c0, "rootTensor=1 (expected 0 <= rootTensor < 1", "rootTensor past a list of one",
                    () -> g.reduceMultiGpu(floats.apply(1), c0, ReduceOp.SUM, rank == c0 ? 1 : 0));

            String lengths = "the ranks passed lists of different lengths";
            fails(g, rank, -1, lengths, "lists of 2 and 3", () -> g.allReduceMultiGpu(
                    floats.apply(rank == c0 ? 2 : 3), ReduceOp.SUM));
            fails(g, rank, -1, lengths, "a single array against lists of 2", () -> {
                if (rank == c1) {
                    g.allReduce(m.create(new float[] {1, 2}), ReduceOp.SUM);
                } else {
                    g.allReduceMultiGpu(floats.apply(2), ReduceOp.SUM);
                }
            });
            int n = rank == c2 ? 2 : 3;
            fails(g, rank, -1, lengths, "all-gathered lists of 3 and 2", () -> g.allGatherMultiGpu(
                    outputs(m, n, w, n), floats.apply(n)));
            fails(g, rank, -1, "the ranks' tensors differ", "lists of one length but other shapes",
                    () -> g.broadcastMultiGpu(list(2, j -> m.create(new float[me + 1])), c0, 0));

            fails(g, rank, c1, "outputs has 1 list(s) (expected 2, one per input)", "too few output lists",
                    () -> g.allGatherMultiGpu(outputs(m, rank == c1 ? 1 : 2, w, 2), floats.apply(2)));
            fails(g, rank, c2, "outputs[1] has " + (2 * w - 1) + " array(s) (expected " + 2 * w + ": " + w
                    + " ranks x 2 inputs)", "an output list one short", () -> {
                        List<List<NDArray>> out = outputs(m, 2, w, 2);
                        if (rank == c2) {
                            out.get(1).remove(0);
                        }
                        g.allGatherMultiGpu(out, floats.apply(2));
                    });
            fails(g, rank, c0, "outputs[0][1] is float32 [3] (expected float32 [2], as inputs[0])",
                    "an output of another shape", () -> {
                        List<List<NDArray>> out = outputs(m, 2, w, 2);
                        if (rank == c0) {
                            out.get(0).set(1, m.zeros(new Shape(3), DataType.FLOAT32));
                        }
                        g.allGatherMultiGpu(out, floats.apply(2));
                    });
            // the single-array all-gather counts its outputs too
            fails(g, rank, c1, "outputs has " + (w - 1) + " tensor(s) (expected " + w + ", one per rank)",
                    "allGather with one output short", () -> g.allGather(
                            list(rank == c1 ? w - 1 : w, x -> m.zeros(new Shape(2), DataType.FLOAT32)),
                            m.create(new float[] {1, 2})));
        }
    }

    /**
     * Runs {@code call}, which must throw IllegalArgumentException whose message holds {@code own} at the culprit
     * (every rank when {@code culprit} is -1) and names the culprit elsewhere; then a barrier.
     */
    private static void fails(CollectiveGroup g, int rank, int culprit, String own, String what, Runnable call) {
        String want = culprit < 0 || rank == culprit ? own : "rank " + culprit + " rejected its own arguments";
        try {
            call.run();
        } catch (IllegalArgumentException e) {
            if (!e.getMessage().contains(want)) {
                throw new AssertionError(what + ": the message lacks \"" + want + "\": " + e.getMessage(), e);
            }
            g.barrier(); // the group stays usable
            return;
        }
        throw new AssertionError(what + ": no IllegalArgumentException on rank " + rank);
    }

    private static List<List<NDArray>> outputs(NDManager m, int lists, int w, int n) {
        List<List<NDArray>> out = new ArrayList<>();
        for (int i = 0; i < lists; i++) {
            out.add(list(w * n, x -> m.zeros(new Shape(2), DataType.FLOAT32)));
        }
        return out;
    }

    private static List<NDArray> list(int n, IntFunction<NDArray> element) {
        List<NDArray> l = new ArrayList<>();
        for (int j = 0; j < n; j++) {
            l.add(element.apply(j));
        }
        return l;
    }
}
