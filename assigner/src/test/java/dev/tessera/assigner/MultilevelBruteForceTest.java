package dev.tessera.assigner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.multilevel.MultilevelSearch;
import dev.tessera.assigner.internal.relax.Relaxation;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The multilevel path on the small random instances of {@link BruteForceOptimalityTest} (same generator and seed),
 * forced to coarsen down to two models so that the coarsest search, the projection and the refinement of every level
 * all take part: it must find the brute-force optimum, never break a limit, and report no placement exactly when none
 * exists.
 */
class MultilevelBruteForceTest {
    private static final int INSTANCES = 60;

    @Test
    void multilevelFindsTheBruteForceOptimum() {
        SplittableRandom rng = new SplittableRandom(20261121);
        int feasible = 0;
        for (int k = 0; k < INSTANCES; k++) {
            BruteForceOptimalityTest.Instance inst = BruteForceOptimalityTest.randomInstance(rng, k % 3 == 0);
            double best = BruteForceOptimalityTest.bruteForce(inst);
            Problem p = problem(inst);
            long seed = k;
            int[] a = new MultilevelSearch(p, 1, 30, seed, 2).solve(q -> relax(q, seed), (done, total) -> {});
            if (Double.isInfinite(best)) {
                assertNull(a, "instance " + k + " has no feasible placement");
                continue;
            }
            feasible++;
            assertTrue(BruteForceOptimalityTest.feasible(inst, a), "instance " + k + " broke a limit");
            assertEquals(best, BruteForceOptimalityTest.objective(inst, a), 1e-9 * Math.max(1, best),
                    "instance " + k + " not optimal");
        }
        assertTrue(feasible >= INSTANCES / 2, "too few feasible instances to mean anything: " + feasible);
    }

    private static int[] relax(Problem q, long seed) {
        return Relaxation.gradient(q, new Relaxation.Settings(30, 0.01, 0.01, 1, seed, ai.djl.Device.cpu()))
                .run((done, total) -> {})
                .argmax();
    }

    /** The instance as the assigner poses it (size multiplier 1, maxMemRatio 1, cpuWeight 0, distances 1 and 10). */
    private static Problem problem(BruteForceOptimalityTest.Instance inst) {
        int m = inst.devices().length;
        double[] capacity = new double[m];
        double[] power = new double[m];
        double[][] dist = new double[m][m];
        for (int d = 0; d < m; d++) {
            capacity[d] = inst.devices()[d].memoryMb();
            power[d] = inst.devices()[d].effectivePower(0);
            for (int c = 0; c < m; c++) {
                dist[d][c] = d == c ? 0 : inst.devices()[d].isGpu() && inst.devices()[c].isGpu() ? 1 : 10;
            }
        }
        int[] from = new int[inst.edges().length];
        int[] to = new int[inst.edges().length];
        for (int e = 0; e < from.length; e++) {
            from[e] = inst.edges()[e][0];
            to[e] = inst.edges()[e][1];
        }
        return new Problem(inst.size(), inst.complexity(), capacity, power, dist, from, to, inst.volume(),
                inst.connectionWeight(), inst.complexityMatchWeight(), inst.balance());
    }
}
