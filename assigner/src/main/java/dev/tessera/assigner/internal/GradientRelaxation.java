package dev.tessera.assigner.internal;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.SplittableRandom;

/**
 * The continuous phase: gradient descent (Adam) on a softmax relaxation of the placement objective, on DJL
 * NDArrays, so it runs on CUDA when the manager's device is a GPU. Not thread-safe; one instance per run.
 *
 * <p>Rows of {@code P = softmax(W + mask)} are each model's probabilities over devices; the mask is -1e4 where a
 * model can never fit. The loss is the expectation of the exact objective's terms plus penalties:
 *
 * <pre>
 *   comm     = commScale × Σ_e vol_e · (P D)[from_e] · P[to_e]         gather rows: O(E·m), and P·D: O(n·m²)
 *   match    = complexityMatchWeight × Σ_d (Pᵀc / C − powerShare)²
 *   memory   = sizeMatchWeight × Σ_d relu(Pᵀdemand / capacity − 1)
 *   balance  = sizeMatchWeight × Σ_d relu(Pᵀc / limit − 1)           when balanceTolerance is set
 *   entropy  = entropyWeight × (t / T) × mean_i H(P_i) / log m         annealed, so rows harden late
 * </pre>
 *
 * Nothing here is O(n²) or O(n²·m²): machin's n²×m² tensor is replaced by the P·D product and an edge gather.
 * Weights start from a seeded Java RNG so a seed gives the same run on every engine. The loss is checked for NaN
 * at every step, as DJL's own optimisers do.
 */
public final class GradientRelaxation {
    private static final float MASKED = -1e4f;
    private static final float BETA1 = 0.9f;
    private static final float BETA2 = 0.999f;
    private static final float ADAM_EPS = 1e-8f;
    private static final int CHECK_EVERY = 25;

    /** Settings of one run. */
    public record Settings(
            int iterations, double learningRate, double sizeMatchWeight, double entropyWeight, long seed, Device device) {}

    /** The hardened placement and the final relaxed probabilities (n×m, row-major). */
    public record Result(int[] argmax, float[] probabilities, double finalLoss) {}

    private final Problem p;
    private final Settings settings;

    public GradientRelaxation(Problem p, Settings settings) {
        this.p = p;
        this.settings = settings;
    }

    public Result run(LocalSearch.ProgressSink progress) {
        try (NDManager manager = NDManager.newBaseManager(settings.device())) {
            Tensors t = new Tensors(manager);
            NDArray w = manager.create(initialWeights(), new Shape(p.n, p.m));
            w.setRequiresGradient(true);
            NDArray m1 = manager.zeros(w.getShape());
            NDArray m2 = manager.zeros(w.getShape());
            double loss = Double.NaN;
            int every = Math.max(1, settings.iterations() / 50);
            for (int step = 1; step <= settings.iterations(); step++) {
                loss = step(t, w, m1, m2, step);
                if (step % every == 0 || step == settings.iterations()) {
                    progress.report(step, settings.iterations());
                }
            }
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                NDArray probs = t.probabilities(w);
                float[] flat = probs.toFloatArray();
                return new Result(argmax(flat), flat, loss);
            }
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
            if (step % CHECK_EVERY == 0 || step == settings.iterations()) {
                value = loss.getFloat();
                if (!Double.isFinite(value)) {
                    throw new IllegalStateException("placement gradient descent diverged: loss=" + value + " by step "
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
            w[k] = (float) (0.01 * (rng.nextDouble() * 2 - 1));
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

    /** The constant tensors of the problem, created once on the run's device. */
    private final class Tensors {
        final NDArray mask;
        final NDArray dist;
        final NDArray from;
        final NDArray to;
        final NDArray volume;
        final NDArray complexity;
        final NDArray demand;
        final NDArray capacity;
        final NDArray powerShare;
        final NDArray limit;
        final boolean hasEdges;

        Tensors(NDManager manager) {
            float[] maskValues = new float[p.n * p.m];
            for (int i = 0; i < p.n; i++) {
                for (int d = 0; d < p.m; d++) {
                    maskValues[i * p.m + d] = p.allowed(i, d) ? 0f : MASKED;
                }
            }
            mask = manager.create(maskValues, new Shape(p.n, p.m));
            float[] distValues = new float[p.m * p.m];
            for (int d = 0; d < p.m; d++) {
                for (int k = 0; k < p.m; k++) {
                    distValues[d * p.m + k] = (float) p.dist[d][k];
                }
            }
            dist = manager.create(distValues, new Shape(p.m, p.m));
            hasEdges = p.edgeFrom.length > 0 && p.commScale > 0;
            from = manager.create(toLong(p.edgeFrom));
            to = manager.create(toLong(p.edgeTo));
            volume = manager.create(toFloat(p.edgeVolume));
            complexity = manager.create(toFloat(p.complexity), new Shape(p.n, 1));
            demand = manager.create(toFloat(p.demand), new Shape(p.n, 1));
            capacity = manager.create(toFloat(clampPositive(p.capacity)));
            powerShare = manager.create(toFloat(p.powerShare));
            limit = p.complexityLimit == null ? null : manager.create(toFloat(clampPositive(p.complexityLimit)));
        }

        NDArray probabilities(NDArray w) {
            return w.add(mask).softmax(1);
        }

        NDArray loss(NDArray w, int step) {
            NDArray logits = w.add(mask);
            NDArray probs = logits.softmax(1);
            NDArray loss = probs.getManager().create(0f);
            if (hasEdges) {
                NDArray viaDistance = probs.matMul(dist);
                NDArray perEdge = viaDistance.get(from).mul(probs.get(to)).sum(new int[] {1});
                loss = loss.add(perEdge.mul(volume).sum().mul((float) p.commScale));
            }
            NDArray comp = probs.transpose().matMul(complexity).reshape(p.m);
            if (p.totalComplexity > 0 && p.complexityMatchWeight != 0) {
                NDArray gap = comp.div((float) p.totalComplexity).sub(powerShare);
                loss = loss.add(gap.square().sum().mul((float) p.complexityMatchWeight));
            }
            float penalty = (float) settings.sizeMatchWeight();
            if (penalty > 0) {
                NDArray used = probs.transpose().matMul(demand).reshape(p.m);
                loss = loss.add(used.div(capacity).sub(1f).maximum(0f).sum().mul(penalty));
                if (limit != null) {
                    loss = loss.add(comp.div(limit).sub(1f).maximum(0f).sum().mul(penalty));
                }
            }
            if (settings.entropyWeight() != 0 && p.m > 1) {
                float scale = (float) (settings.entropyWeight() * step / settings.iterations() / Math.log(p.m));
                // -Σ P log P from log-softmax: no log of a rounded-to-zero probability, no infinite gradient
                NDArray entropy = probs.mul(logits.logSoftmax(1)).sum(new int[] {1}).mean().neg();
                loss = loss.add(entropy.mul(scale));
            }
            return loss;
        }
    }

    private static double[] clampPositive(double[] v) {
        double[] c = new double[v.length];
        for (int k = 0; k < v.length; k++) {
            c[k] = Math.max(v[k], 1e-9);
        }
        return c;
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
