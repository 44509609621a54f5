package dev.tessera.assigner.internal.relax;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.tessera.assigner.PlacementDivergedException;
import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.ProgressSink;
import java.util.SplittableRandom;

/**
 * The continuous phase: gradient descent (Adam) on a softmax relaxation of the placement objective, on DJL
 * NDArrays, so it runs on CUDA when the manager's device is a GPU. It uses DJL's engine-neutral API only; the sparse
 * edge product comes from the engine's {@link RelaxationEngine}. Not thread-safe; one instance per run, which owns
 * (and closes) every tensor it creates.
 *
 * <p>Rows of {@code P = softmax(W)} are each model's probabilities over devices. Where a model can never fit, its
 * weight starts at -1e4: that probability underflows to exactly 0, so its gradient and its Adam update are 0 too,
 * and no mask is applied per step. The loss is the expectation of the exact objective's terms plus penalties:
 *
 * <pre>
 *   comm     = commScale × Σ_e vol_e · (P D)[from_e] · P[to_e] = Σ (A · P D) ∘ P    A: sparse n×n, E entries
 *   match    = complexityMatchWeight × Σ_d (Pᵀc / C − powerShare)²
 *   memory   = sizeMatchWeight × Σ_d relu(Pᵀdemand / capacity − 1)
 *   balance  = sizeMatchWeight × Σ_d relu(Pᵀc / limit − 1)           when balanceTolerance is set
 *   entropy  = entropyWeight × (t / T) × mean_i H(P_i) / log m         annealed, so rows harden late
 * </pre>
 *
 * A step costs O(n·m² + E·m): the P·D product and, on the CPU, one sparse-dense product (whose backward is the
 * transposed sparse product), never machin's n²×m² tensor. On the CPU the sparse product replaced two row gathers,
 * whose backward (an accumulating scatter) took most of a step on large graphs; a GPU keeps the gathers. Weights
 * start from a seeded Java RNG so a seed gives the same run on every engine. The loss is read back and checked for
 * NaN every {@value #CHECK_EVERY} steps and at the last; with a stop tolerance, the run also stops at such a check
 * once it has converged (see {@link Convergence}), and reports the step it stopped at.
 */
final class GradientRelaxation implements Relaxation {
    private static final float MASKED = -1e4f;
    private static final float BETA1 = 0.9f;
    private static final float BETA2 = 0.999f;
    private static final float ADAM_EPS = 1e-8f;
    private static final int CHECK_EVERY = 25;
    /** Checks in a row that must find the loss and the hardened placement still, for the run to stop early. */
    private static final int SETTLED_CHECKS = 2;
    /** The earliest the run may stop, as a fraction of its steps. */
    private static final double MIN_STEP_FRACTION = 0.2;

    private final Problem p;
    private final Settings settings;
    private final boolean sparseProducts;
    /** The loss less its entropy term at the last check: the relaxed objective the stopping rule watches. */
    private double relaxedObjective = Double.NaN;

    /**
     * @param sparseProducts price the edges with one sparse product where the engine and device allow it (PyTorch
     *     on the CPU); false always uses the row gathers, as on a GPU. Tests compare the two.
     */
    GradientRelaxation(Problem p, Settings settings, boolean sparseProducts) {
        this.p = p;
        this.settings = settings;
        this.sparseProducts = sparseProducts;
    }

    @Override
    public Result run(ProgressSink progress) {
        try (NDManager manager = NDManager.newBaseManager(settings.device())) {
            Tensors t = new Tensors(manager);
            NDArray w = owned(manager.create(initialWeights(), new Shape(p.n, p.m)));
            w.setRequiresGradient(true);
            NDArray m1 = manager.zeros(w.getShape());
            NDArray m2 = manager.zeros(w.getShape());
            Convergence convergence = new Convergence(settings.stopTolerance());
            double loss = Double.NaN;
            int every = Math.max(1, settings.iterations() / 50);
            int step = 0;
            boolean converged = false;
            while (step < settings.iterations() && !converged) {
                step++;
                loss = step(t, w, m1, m2, step);
                if (isCheck(step) && settings.stopTolerance() > 0) {
                    converged = convergence.settled(step, relaxedObjective, hardened(w));
                }
                if (step % every == 0 || step == settings.iterations() || converged) {
                    progress.report(converged ? settings.iterations() : step, settings.iterations());
                }
            }
            float[] flat = probabilities(w);
            return new Result(argmax(flat), flat, loss, step, converged);
        }
    }

    private boolean isCheck(int step) {
        return step % CHECK_EVERY == 0 || step == settings.iterations();
    }

    private float[] probabilities(NDArray w) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            return w.softmax(1).toFloatArray();
        }
    }

    private int[] hardened(NDArray w) {
        return argmax(probabilities(w));
    }

    /**
     * The stopping rule, applied at each loss check (every {@value #CHECK_EVERY} steps) to the relaxed objective (the
     * loss less its annealed entropy term, which grows with the step by design): the run has converged when, for
     * {@value #SETTLED_CHECKS} checks in a row, that objective moved by at most {@code tolerance} × its value since
     * the check before and the hardened placement (all that the discrete phase takes from the run) did not change,
     * and at least {@value #MIN_STEP_FRACTION} of the steps are done. Measured at 500 steps: on resnet50 the hardened
     * placement is still from step 250 and the objective moves 4% per check by step 375; on alexnet 5% by step 325.
     */
    private final class Convergence {
        private final double tolerance;
        private double lastLoss = Double.NaN;
        private int[] lastPlacement;
        private int settledChecks;

        Convergence(double tolerance) {
            this.tolerance = tolerance;
        }

        boolean settled(int step, double loss, int[] placement) {
            boolean still = Math.abs(loss - lastLoss) <= tolerance * Math.max(Math.abs(loss), 1e-12)
                    && java.util.Arrays.equals(placement, lastPlacement);
            settledChecks = still ? settledChecks + 1 : 0;
            lastLoss = loss;
            lastPlacement = placement;
            return settledChecks >= SETTLED_CHECKS && step >= MIN_STEP_FRACTION * settings.iterations();
        }
    }

    /**
     * One Adam step with DJL's fused native update (one call instead of a dozen element-wise ops, as DJL's own
     * {@code Adam} optimiser does). The loss is read back, and checked for NaN, only every {@link #CHECK_EVERY}
     * steps and at the last one: a NaN poisons the weights and every later loss, so none is missed, and the device
     * is not synchronised on every step.
     */
    private double step(Tensors t, NDArray w, NDArray m1, NDArray m2, int step) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning(); // the scope frees every array a step creates
            NDArray loss;
            try (GradientCollector gc = w.getManager().getEngine().newGradientCollector()) {
                loss = t.loss(w, step);
                gc.backward(loss);
            }
            double value = Double.NaN;
            if (isCheck(step)) {
                value = loss.getFloat();
                relaxedObjective = value - (t.entropy == null ? 0 : t.entropy.getFloat());
                if (!Double.isFinite(value)) {
                    throw new PlacementDivergedException("placement gradient descent diverged: loss=" + value + " by step "
                            + step + " (check the inputs for NaN or infinite sizes, volumes or distances, or lower"
                            + " updateRate=" + settings.learningRate() + ")");
                }
            }
            NDArray g = w.getGradient();
            float lr = (float) settings.learningRate();
            float corrected = (float) (lr * Math.sqrt(1 - Math.pow(BETA2, step)) / (1 - Math.pow(BETA1, step)));
            w.getNDArrayInternal().adamUpdate(new NDList(w, g, m1, m2), new NDList(w), lr, corrected, 0f, 1f, -1f,
                    BETA1, BETA2, ADAM_EPS, true, false);
            g.subi(g);
            return value;
        }
    }

    private float[] initialWeights() {
        SplittableRandom rng = new SplittableRandom(settings.seed());
        float[] w = new float[p.n * p.m];
        for (int k = 0; k < w.length; k++) {
            w[k] = (float) (0.01 * (rng.nextDouble() * 2 - 1)) + (p.allowed(k / p.m, k % p.m) ? 0f : MASKED);
        }
        return w;
    }

    /**
     * Hardens each row, comparing probabilities rounded to 1e-4 so that run-to-run float noise (BLAS results can
     * depend on memory alignment) cannot flip a tie between identical devices; ties go to the lowest index.
     */
    private int[] argmax(float[] probs) {
        int[] a = new int[p.n];
        for (int i = 0; i < p.n; i++) {
            int best = 0;
            for (int d = 1; d < p.m; d++) {
                if (Math.round(probs[i * p.m + d] * 1e4) > Math.round(probs[i * p.m + best] * 1e4)) {
                    best = d;
                }
            }
            a[i] = best;
        }
        return a;
    }

    /**
     * A copy of {@code javaBacked} in memory that PyTorch owns; closes the original. DJL's {@code create} wraps a
     * Java direct buffer (zero-copy), which the garbage collector frees once the wrapper is unreachable. An autograd
     * graph that saved such a tensor for its backward pass then reads freed memory: DJL's {@code mul(Number)} and
     * {@code maximum(Number)} build exactly such temporary scalars, and a collector running during a step turned the
     * loss into NaN. So every constant here is PyTorch-owned, scalars come from {@code full}, and no
     * {@code Number}-argument op appears in the loss.
     */
    private static NDArray owned(NDArray javaBacked) {
        NDArray copy = javaBacked.duplicate();
        javaBacked.close();
        return copy;
    }

    /** The constant tensors of the problem, created once on the run's device, all in PyTorch-owned memory. */
    private final class Tensors {
        /**
         * vol × commScale at (to, from) for each edge, as a sparse matrix: one sparse product gives every edge's
         * expected cost. Null on a GPU or another engine, which use {@link #from}/{@link #to} gathers.
         */
        final NDArray adjacency;
        final NDArray from;
        final NDArray to;
        final NDArray volume;
        final NDArray dist;
        /** n×2: complexity and demand, so one product gives every device's compute and memory load. */
        final NDArray loadColumns;
        /** m×2: 1 / balance limit and 1 / capacity (the limit column is 0 when balance is not constrained). */
        final NDArray inverseLimits;
        final NDArray powerShare;
        final NDArray zero;
        final NDArray one;
        final NDArray inverseTotalComplexity;
        final NDArray matchWeight;
        final NDArray penalty;
        final boolean hasEdges;
        /** The annealed entropy term of the last {@link #loss}, or null; freed with that step's scope. */
        NDArray entropy;

        Tensors(NDManager manager) {
            float[] distValues = new float[p.m * p.m];
            for (int d = 0; d < p.m; d++) {
                for (int k = 0; k < p.m; k++) {
                    distValues[d * p.m + k] = (float) p.dist[d][k];
                }
            }
            dist = owned(manager.create(distValues, new Shape(p.m, p.m)));
            int e = p.edgeFrom.length;
            hasEdges = e > 0 && p.commScale > 0;
            long[] fromIndex = toLong(p.edgeFrom);
            long[] toIndex = toLong(p.edgeTo);
            float[] scaled = new float[e];
            for (int k = 0; k < e; k++) {
                scaled[k] = (float) (p.edgeVolume[k] * p.commScale);
            }
            from = owned(manager.create(fromIndex));
            to = owned(manager.create(toIndex));
            volume = owned(manager.create(scaled));
            adjacency = hasEdges ? sparseAdjacency(manager, toIndex, fromIndex) : null;
            float[] columns = new float[2 * p.n];
            for (int i = 0; i < p.n; i++) {
                columns[2 * i] = (float) p.complexity[i];
                columns[2 * i + 1] = (float) p.demand[i];
            }
            loadColumns = owned(manager.create(columns, new Shape(p.n, 2)));
            float[] inverse = new float[2 * p.m];
            for (int d = 0; d < p.m; d++) {
                inverse[2 * d] = p.complexityLimit == null ? 0f : (float) (1 / Math.max(p.complexityLimit[d], 1e-9));
                inverse[2 * d + 1] = (float) (1 / Math.max(p.capacity[d], 1e-9));
            }
            inverseLimits = owned(manager.create(inverse, new Shape(p.m, 2)));
            powerShare = owned(manager.create(toFloat(p.powerShare)));
            zero = manager.full(new Shape(), 0f);
            one = manager.full(new Shape(), 1f);
            inverseTotalComplexity = manager.full(new Shape(), (float) (1 / Math.max(p.totalComplexity, 1e-30)));
            matchWeight = manager.full(new Shape(), (float) p.complexityMatchWeight);
            penalty = manager.full(new Shape(), (float) settings.sizeMatchWeight());
        }

        /**
         * The (to, from) volume matrix as the engine's sparse COO tensor on the CPU (PyTorch's, through
         * {@link PtRelaxationEngine}), or null elsewhere: on a GPU the gathers' backward is a fast atomic scatter, and
         * other engines may lack sparse tensors. It shares the memory of its index and value arrays, which are
         * engine-owned and stay open with the run's manager (DJL's own {@code createCoo} closes Java-backed ones at
         * once, which frees that memory under the tensor).
         */
        private NDArray sparseAdjacency(NDManager manager, long[] rows, long[] columns) {
            RelaxationEngine engine = RelaxationEngine.of(manager);
            if (!sparseProducts || manager.getDevice().isGpu() || engine == RelaxationEngine.GENERIC) {
                return null;
            }
            long[] both = new long[2 * rows.length];
            System.arraycopy(rows, 0, both, 0, rows.length);
            System.arraycopy(columns, 0, both, rows.length, columns.length);
            NDArray index = owned(manager.create(both, new Shape(2, rows.length)));
            return engine.sparseCoo(index, volume, new Shape(p.n, p.n));
        }

        /**
         * The loss. Devices a model can never use start at -1e4 in {@code w}; their probability underflows to
         * exactly 0, so their gradient and Adam update are exactly 0 and no mask is added per step.
         */
        NDArray loss(NDArray w, int step) {
            entropy = null;
            NDArray logProbs = w.logSoftmax(1);
            NDArray probs = logProbs.exp();
            NDArray loss = null;
            if (hasEdges) {
                NDArray viaDistance = probs.matMul(dist);
                if (adjacency != null) {
                    // Σ_e vol_e · (P D)[from_e] · P[to_e] = Σ (A · P D) ∘ P, A the sparse (to, from) volume matrix
                    loss = adjacency.matMul(viaDistance).mul(probs).sum();
                } else {
                    loss = viaDistance.get(from).mul(probs.get(to)).sum(new int[] {1}).mul(volume).sum();
                }
            }
            NDArray loads = probs.transpose().matMul(loadColumns); // m×2: compute, memory
            if (p.totalComplexity > 0 && p.complexityMatchWeight != 0) {
                NDArray gap = loads.get(":, 0").mul(inverseTotalComplexity).sub(powerShare);
                loss = add(loss, gap.square().sum().mul(matchWeight));
            }
            if (settings.sizeMatchWeight() > 0) {
                // memory and (when set) balance excess in one pass; a 0 inverse limit contributes relu(-1) = 0
                loss = add(loss, loads.mul(inverseLimits).sub(one).maximum(zero).sum().mul(penalty));
            }
            if (settings.entropyWeight() != 0 && p.m > 1) {
                float scale = (float) (settings.entropyWeight() * step / settings.iterations() / Math.log(p.m) / p.n);
                // -Σ P log P from log-softmax: no log of a rounded-to-zero probability, no infinite gradient
                NDArray negativeScale = w.getManager().full(new Shape(), -scale);
                entropy = probs.mul(logProbs).sum().mul(negativeScale);
                loss = add(loss, entropy);
            }
            return loss == null ? w.sum().mul(zero) : loss;
        }

        private NDArray add(NDArray total, NDArray term) {
            return total == null ? term : total.add(term);
        }
    }

    private static long[] toLong(int[] v) {
        long[] r = new long[v.length];
        for (int k = 0; k < v.length; k++) {
            r[k] = v[k];
        }
        return r;
    }

    private static float[] toFloat(double[] v) {
        float[] r = new float[v.length];
        for (int k = 0; k < v.length; k++) {
            r[k] = (float) v[k];
        }
        return r;
    }
}
