package dev.tessera.assigner.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.assigner.internal.graph.Graph;
import dev.tessera.assigner.internal.graph.Orders;
import dev.tessera.assigner.internal.improve.TabuSearch;
import dev.tessera.assigner.internal.start.BeamSearch;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The tabu walk and the beam start on small random problems, checked against enumeration of every placement:
 * both only ever return feasible placements, the tabu walk alone reaches the optimum on nine in ten, and the beam is never better
 * than the optimum (it would be miscounting) and exact where the answer is obvious.
 */
class DiscreteSearchTest {
    private static final int INSTANCES = 40;

    @Test
    void tabuWalkFromInfeasibleStartsReachesTheOptimum() {
        SplittableRandom rng = new SplittableRandom(7);
        int solved = 0;
        int optimal = 0;
        for (int k = 0; k < INSTANCES; k++) {
            Problem p = randomProblem(rng);
            double optimum = bruteForce(p, false);
            int[] start = new int[p.n]; // everything on device 0: usually over its limits
            int[] walked = new TabuSearch(new Graph(p), new SplittableRandom(k)).run(start, 5_000);
            if (Double.isInfinite(optimum)) {
                assertNull(walked, "instance " + k + " has no feasible placement");
                continue;
            }
            solved++;
            assertNotNull(walked, "instance " + k);
            assertTrue(p.feasible(walked), "instance " + k + " broke a limit");
            if (Math.abs(optimum - p.objective(walked)) <= 1e-9 * Math.max(1, optimum)) {
                optimal++;
            }
        }
        assertTrue(solved >= INSTANCES / 2, "too few feasible instances: " + solved);
        // a heuristic on its own (the full search adds starts, descent and kicks, see BruteForceOptimalityTest);
        // deterministic for these seeds
        assertTrue(optimal >= solved * 9 / 10, "tabu walk optimal on only " + optimal + " of " + solved);
    }

    @Test
    void beamReturnsOnlyFeasiblePlacementsAndNeverBeatsTheOptimum() {
        SplittableRandom rng = new SplittableRandom(11);
        for (int k = 0; k < INSTANCES; k++) {
            Problem p = randomProblem(rng);
            double optimum = bruteForce(p, true);
            int[] beam = new BeamSearch(p, Orders.topological(p, true)).run(1_000);
            if (beam == null) {
                continue;
            }
            assertTrue(p.feasible(beam), "instance " + k + " broke a limit");
            assertTrue(p.communication(beam) >= optimum - 1e-9, "instance " + k + " beat the optimum: miscounted");
        }
    }

    @Test
    void beamOverAStretchKeepsTheRestAndCompletesTheOptimumAgain() {
        SplittableRandom rng = new SplittableRandom(13);
        int checked = 0;
        for (int k = 0; k < INSTANCES; k++) {
            Problem p = randomProblem(rng);
            int[] optimum = bruteForceAssignment(p);
            if (optimum == null) {
                continue;
            }
            int[] order = Orders.topological(p, true);
            int from = rng.nextInt(p.n - 1);
            int to = from + 2 + rng.nextInt(p.n - from - 1);
            int[] stretch = java.util.Arrays.copyOfRange(order, from, Math.min(p.n, to));
            int[] placed = new BeamSearch(p, stretch, optimum).run(1_000);
            assertNotNull(placed, "instance " + k + ": the optimum itself completes the stretch");
            assertTrue(p.feasible(placed), "instance " + k + " broke a limit");
            boolean[] free = new boolean[p.n];
            for (int i : stretch) {
                free[i] = true;
            }
            for (int i = 0; i < p.n; i++) {
                if (!free[i]) {
                    assertEquals(optimum[i], placed[i], "instance " + k + ": model " + i + " is outside the stretch");
                }
            }
            assertEquals(p.communication(optimum), p.communication(placed), 1e-9, "instance " + k);
            checked++;
        }
        assertTrue(checked >= INSTANCES / 2, "too few feasible instances: " + checked);
    }

    @Test
    void beamKeepsAChainOnOneDeviceWhenItFitsAndSplitsItAtTheCheapestSeamOtherwise() {
        // a chain 0-1-2-3-4-5 with one cheap seam (2->3); 2 identical GPUs
        double[] vol = {5, 5, 1, 5, 5};
        int[] from = {0, 1, 2, 3, 4};
        int[] to = {1, 2, 3, 4, 5};
        double[] demand = {10, 10, 10, 10, 10, 10};
        double[][] dist = {{0, 1}, {1, 0}};
        Problem roomy = new Problem(demand, demand, new double[] {100, 100}, new double[] {1, 1}, dist, from, to, vol,
                1, 0, null);
        assertEquals(0, roomy.communication(new BeamSearch(roomy, new int[] {0, 1, 2, 3, 4, 5}).run(8)));
        Problem tight = new Problem(demand, demand, new double[] {30, 30}, new double[] {1, 1}, dist, from, to, vol,
                1, 0, null);
        int[] split = new BeamSearch(tight, new int[] {0, 1, 2, 3, 4, 5}).run(8);
        assertArrayEquals(new int[] {0, 0, 0, 1, 1, 1}, split);
        assertEquals(1, tight.communication(split));
    }

    /** Two to five GPUs (and sometimes a power-0 CPU), six or seven models, tight memory, balance on half. */
    private static Problem randomProblem(SplittableRandom rng) {
        int n = 6 + rng.nextInt(2);
        int m = 2 + rng.nextInt(3);
        double[] demand = new double[n];
        double[] complexity = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            demand[i] = 10 + rng.nextInt(90);
            complexity[i] = rng.nextInt(4) == 0 ? 0 : 1 + rng.nextInt(20);
            total += demand[i];
        }
        double[] capacity = new double[m];
        double[] power = new double[m];
        double[][] dist = new double[m][m];
        boolean cpu = rng.nextBoolean();
        for (int d = 0; d < m; d++) {
            capacity[d] = total * (0.3 + rng.nextDouble() * 0.5);
            power[d] = cpu && d == m - 1 ? 0 : 1;
            for (int c = 0; c < m; c++) {
                dist[d][c] = d == c ? 0 : (cpu && (d == m - 1 || c == m - 1)) ? 10 : 1;
            }
        }
        List<int[]> edges = new ArrayList<>();
        for (int i = 0; i + 1 < n; i++) {
            edges.add(new int[] {i, i + 1});
        }
        for (int k = 0; k < n; k++) {
            int i = rng.nextInt(n - 1);
            edges.add(new int[] {i, i + 1 + rng.nextInt(n - 1 - i)});
        }
        int[] from = new int[edges.size()];
        int[] to = new int[edges.size()];
        double[] vol = new double[edges.size()];
        for (int e = 0; e < edges.size(); e++) {
            from[e] = edges.get(e)[0];
            to[e] = edges.get(e)[1];
            vol[e] = 1 + rng.nextInt(50);
        }
        Double balance = rng.nextBoolean() ? 0.5 : null;
        double matchWeight = rng.nextBoolean() ? 0 : 1;
        return new Problem(demand, complexity, capacity, power, dist, from, to, vol, 1, matchWeight, balance);
    }

    /** A placement of least communication among all that meet every limit, or null if none does. */
    private static int[] bruteForceAssignment(Problem p) {
        int[][] best = {null};
        forEachFeasible(p, a -> {
            if (best[0] == null || p.communication(a) < p.communication(best[0])) {
                best[0] = a.clone();
            }
        });
        return best[0];
    }

    /** The best objective (or communication) over all m^n placements that meet every limit; infinity if none. */
    private static double bruteForce(Problem p, boolean communicationOnly) {
        double[] best = {Double.POSITIVE_INFINITY};
        forEachFeasible(p, a -> best[0] = Math.min(best[0], communicationOnly ? p.communication(a) : p.objective(a)));
        return best[0];
    }

    /** Calls visit with each of the m^n placements that meet every limit (the array is reused). */
    private static void forEachFeasible(Problem p, java.util.function.Consumer<int[]> visit) {
        int[] a = new int[p.n];
        long count = (long) Math.pow(p.m, p.n);
        for (long code = 0; code < count; code++) {
            long c = code;
            for (int i = 0; i < p.n; i++) {
                a[i] = (int) (c % p.m);
                c /= p.m;
            }
            if (p.feasible(a)) {
                visit.accept(a);
            }
        }
    }
}
