package dev.tessera.assigner.internal.relax;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.tessera.assigner.internal.Problem;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The relaxation's loss against a direct evaluation in Java, its sparse and gathered edge pricing against each
 * other, and its masking of devices a model can never use.
 */
public class RelaxationTest {
    private static final double SIZE_MATCH = 0.01;
    private static final double ENTROPY = 1;

    @Test
    void firstLossMatchesADirectEvaluationOfEveryTerm() {
        Problem p = problem(new SplittableRandom(3), 12, 4);
        Relaxation.Result r = Relaxation.gradient(p, settings(1, 5)).run((d, t) -> {});
        double expected = directLoss(p, initialWeights(p, 5), 1, 1);
        assertEquals(expected, r.finalLoss(), 1e-5 * Math.max(1, Math.abs(expected)));
    }

    @Test
    void sparseAndGatheredEdgePricingGiveTheSameRun() {
        Problem p = problem(new SplittableRandom(9), 40, 6);
        Relaxation.Result sparse = new GradientRelaxation(p, settings(80, 2), true).run((d, t) -> {});
        Relaxation.Result gathered = new GradientRelaxation(p, settings(80, 2), false).run((d, t) -> {});
        assertEquals(gathered.finalLoss(), sparse.finalLoss(), 1e-4 * Math.max(1, Math.abs(gathered.finalLoss())));
        assertArrayEquals(gathered.argmax(), sparse.argmax());
    }

    @Test
    void aDeviceAModelCanNeverUseKeepsProbabilityZeroThroughout() {
        Problem p = problem(new SplittableRandom(4), 20, 3);
        int masked = 0;
        Relaxation.Result r = Relaxation.gradient(p, settings(120, 1)).run((d, t) -> {});
        for (int i = 0; i < p.n; i++) {
            for (int d = 0; d < p.m; d++) {
                if (!p.allowed(i, d)) {
                    masked++;
                    assertEquals(0f, r.probabilities()[i * p.m + d], "model " + i + " on device " + d);
                    assertTrue(r.argmax()[i] != d);
                }
            }
        }
        assertTrue(masked > 0, "the instance should have models too big for the small device");
    }

    /**
     * The stopping rule: a run whose hardened placement and relaxed objective have settled stops at a check before
     * its last step and says so; without a tolerance the same run goes to the end.
     */
    @Test
    void aConvergedRunStopsEarlyAndReportsTheStep() {
        Problem p = problem(new SplittableRandom(5), 30, 5);
        Relaxation.Settings full = settings(500, 8);
        Relaxation.Settings stopping = new Relaxation.Settings(full.iterations(), full.learningRate(),
                full.sizeMatchWeight(), full.entropyWeight(), full.seed(), full.device(), 0.05);
        Relaxation.Result all = Relaxation.gradient(p, full).run((d, t) -> {});
        Relaxation.Result early = Relaxation.gradient(p, stopping).run((d, t) -> {});
        assertEquals(500, all.steps());
        assertFalse(all.converged());
        assertTrue(early.converged(), "did not converge in " + early.steps() + " steps");
        assertTrue(early.steps() < 500 && early.steps() >= 100 && early.steps() % 25 == 0, "stopped at " + early.steps());
    }

    /** A run that never settles (the rule's tolerance 0 can only be met by an exactly still loss) uses every step. */
    @Test
    void aRunThatHasNotConvergedUsesEveryStep() {
        Problem p = problem(new SplittableRandom(5), 30, 5);
        Relaxation.Settings base = settings(60, 8);
        Relaxation.Result r = Relaxation.gradient(p, new Relaxation.Settings(base.iterations(), base.learningRate(),
                base.sizeMatchWeight(), base.entropyWeight(), base.seed(), base.device(), 1e-9)).run((d, t) -> {});
        assertEquals(60, r.steps());
        assertFalse(r.converged());
    }

    @Test
    void aRunIsRepeatable() {
        Problem p = problem(new SplittableRandom(5), 30, 5);
        Relaxation.Result a = Relaxation.gradient(p, settings(50, 8)).run((d, t) -> {});
        Relaxation.Result b = Relaxation.gradient(p, settings(50, 8)).run((d, t) -> {});
        assertArrayEquals(a.argmax(), b.argmax());
        assertFalse(Double.isNaN(a.finalLoss()));
    }

    /**
     * Regression: the loss once multiplied by DJL scalars that wrap Java direct buffers, which autograd kept for the
     * backward pass after the collector had freed them, so a collection during a step made the loss NaN (97 of 100
     * runs with a collector running alongside, about 1 in 150 without). Every constant is now PyTorch-owned.
     */
    @Test
    void garbageCollectionDuringStepsNeverCorruptsTheRun() throws Exception {
        Problem p = problem(new SplittableRandom(6), 30, 4);
        Relaxation.Result quiet = Relaxation.gradient(p, settings(100, 3)).run((d, t) -> {});
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread collector = new Thread(() -> {
            while (!stop.get()) {
                System.gc();
            }
        });
        collector.setDaemon(true);
        collector.start();
        try {
            for (int run = 0; run < 2; run++) {
                for (boolean sparse : new boolean[] {true, false}) {
                    Relaxation.Result r = new GradientRelaxation(p, settings(100, 3), sparse).run((d, t) -> {});
                    assertEquals(quiet.finalLoss(), r.finalLoss(), 1e-4 * Math.abs(quiet.finalLoss()), "run " + run);
                    assertArrayEquals(quiet.argmax(), r.argmax(), "run " + run);
                }
            }
        } finally {
            stop.set(true);
            collector.join();
        }
    }

    private static Relaxation.Settings settings(int iterations, long seed) {
        return new Relaxation.Settings(iterations, 0.05, SIZE_MATCH, ENTROPY, seed, Device.cpu());
    }

    /**
     * A chain with extra forward edges (and one edge both ways), complexity-match weight 1, balance on, a small
     * device that some models cannot fit on, asymmetric distances.
     */
    public static Problem problem(SplittableRandom rng, int n, int m) {
        double[] demand = new double[n];
        double[] complexity = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            demand[i] = 5 + rng.nextInt(60);
            complexity[i] = rng.nextInt(5) == 0 ? 0 : 1 + rng.nextInt(10);
            total += demand[i];
        }
        double[] capacity = new double[m];
        double[] power = new double[m];
        double[][] dist = new double[m][m];
        for (int d = 0; d < m; d++) {
            capacity[d] = d == 0 ? 30 : total * 0.6;
            power[d] = 1 + d % 2;
            for (int c = 0; c < m; c++) {
                dist[d][c] = d == c ? 0 : 1 + rng.nextInt(9);
            }
        }
        int e = 2 * n;
        int[] from = new int[e];
        int[] to = new int[e];
        double[] vol = new double[e];
        for (int k = 0; k < e; k++) {
            int i = k < n - 1 ? k : rng.nextInt(n - 1);
            from[k] = i;
            to[k] = k < n - 1 ? i + 1 : i + 1 + rng.nextInt(n - 1 - i);
            vol[k] = 1 + rng.nextInt(30);
        }
        from[e - 1] = to[0]; // one edge back, so a pair is connected both ways
        to[e - 1] = from[0];
        return new Problem(demand, complexity, capacity, power, dist, from, to, vol, 1.5, 1, 0.5);
    }

    /** The relaxation's documented initial weights: a seeded uniform ±0.01, and -1e4 where a model never fits. */
    private static double[] initialWeights(Problem p, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[] w = new double[p.n * p.m];
        for (int k = 0; k < w.length; k++) {
            w[k] = 0.01 * (rng.nextDouble() * 2 - 1) + (p.allowed(k / p.m, k % p.m) ? 0 : -1e4);
        }
        return w;
    }

    /** The loss of the class documentation, in double precision, at weights w and step t of T. */
    private static double directLoss(Problem p, double[] w, int t, int iterations) {
        int n = p.n;
        int m = p.m;
        double[][] probs = new double[n][m];
        double entropy = 0;
        for (int i = 0; i < n; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int d = 0; d < m; d++) {
                max = Math.max(max, w[i * m + d]);
            }
            double z = 0;
            for (int d = 0; d < m; d++) {
                z += Math.exp(w[i * m + d] - max);
            }
            for (int d = 0; d < m; d++) {
                probs[i][d] = Math.exp(w[i * m + d] - max) / z;
                if (probs[i][d] > 0) {
                    entropy -= probs[i][d] * Math.log(probs[i][d]);
                }
            }
        }
        double comm = 0;
        for (int e = 0; e < p.edgeFrom.length; e++) {
            for (int a = 0; a < m; a++) {
                for (int b = 0; b < m; b++) {
                    comm += p.edgeVolume[e] * probs[p.edgeFrom[e]][a] * p.dist[a][b] * probs[p.edgeTo[e]][b];
                }
            }
        }
        double loss = p.commScale * comm;
        for (int d = 0; d < m; d++) {
            double used = 0;
            double comp = 0;
            for (int i = 0; i < n; i++) {
                used += probs[i][d] * p.demand[i];
                comp += probs[i][d] * p.complexity[i];
            }
            double gap = comp / p.totalComplexity - p.powerShare[d];
            loss += p.complexityMatchWeight * gap * gap;
            loss += SIZE_MATCH * Math.max(0, used / p.capacity[d] - 1);
            loss += SIZE_MATCH * Math.max(0, comp / p.complexityLimit[d] - 1);
        }
        loss += ENTROPY * t / iterations / Math.log(m) * entropy / n;
        return loss;
    }
}
