package dev.tessera.assigner.internal.multilevel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.SearchState;
import dev.tessera.assigner.internal.improve.Repair;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Coarsening and refinement on random layer graphs with tight memory (the devices hold 1.1–1.5 × the demand in all,
 * one of them much smaller than the others), balance limits on half and models with no complexity: every coarse model
 * fits some device, a coarse placement has the objective of its projection, and refinement keeps every limit.
 */
class MultilevelTest {
    private static final int INSTANCES = 12;

    @Test
    void everyCoarseModelFitsSomeDeviceAndTheLargestDeviceHoldsIt() {
        SplittableRandom rng = new SplittableRandom(3);
        for (int k = 0; k < INSTANCES; k++) {
            Problem p = randomProblem(rng, 400 + rng.nextInt(400));
            List<Level> levels = Coarsening.hierarchy(p, 4, new SplittableRandom(k));
            assertTrue(levels.size() >= 3, "instance " + k + " coarsened only " + levels.size() + " times");
            double largest = Arrays.stream(p.capacity).max().orElseThrow();
            Problem finer = p;
            for (Level level : levels) {
                Problem q = level.coarse();
                assertEquals(finer.n, level.map().length);
                assertTrue(q.n < finer.n);
                for (int c = 0; c < q.n; c++) {
                    assertTrue(q.demand[c] <= largest + Problem.EPS, "instance " + k + ": coarse model " + c
                            + " needs " + q.demand[c] + " MB, the largest device holds " + largest);
                    int model = c;
                    assertTrue(java.util.stream.IntStream.range(0, q.m).anyMatch(d -> q.allowed(model, d)),
                            "instance " + k + ": coarse model " + c + " fits no device within its limits");
                }
                assertEquals(Arrays.stream(p.demand).sum(), Arrays.stream(q.demand).sum(), 1e-6);
                assertEquals(p.totalComplexity, Arrays.stream(q.complexity).sum(), 1e-6);
                finer = q;
            }
        }
    }

    @Test
    void aCoarsePlacementHasTheObjectiveAndTheLoadsOfItsProjection() {
        SplittableRandom rng = new SplittableRandom(5);
        for (int k = 0; k < INSTANCES; k++) {
            Problem p = randomProblem(rng, 300 + rng.nextInt(300));
            List<Level> levels = Coarsening.hierarchy(p, 20, new SplittableRandom(k));
            Problem coarsest = levels.get(levels.size() - 1).coarse();
            int[] a = new int[coarsest.n];
            for (int c = 0; c < a.length; c++) {
                a[c] = rng.nextInt(p.m);
            }
            int[] fine = a;
            for (int l = levels.size() - 1; l >= 0; l--) {
                fine = levels.get(l).project(fine);
            }
            double objective = coarsest.objective(a);
            assertEquals(p.objective(fine), objective, 1e-12 * Math.max(1, objective), "instance " + k);
            assertEquals(p.communication(fine), coarsest.communication(a), 1e-6, "instance " + k);
            assertTrue(Arrays.equals(round(p.loads(fine, p.demand)), round(coarsest.loads(a, coarsest.demand))));
            assertEquals(p.feasible(fine), coarsest.feasible(a), "instance " + k);
        }
    }

    @Test
    void refinementNeverBreaksALimitAndNeverRaisesTheObjective() {
        SplittableRandom rng = new SplittableRandom(9);
        int refined = 0;
        int improved = 0;
        for (int k = 0; k < INSTANCES * 2; k++) {
            Problem p = randomProblem(rng, 100 + rng.nextInt(500));
            SearchState start = new SearchState(p, randomPlacement(p, rng));
            if (!new Repair(p, 4 * p.n * p.m + 16).repair(start)) {
                continue;
            }
            refined++;
            int[] before = start.a.clone();
            int[] after = new Refinement(p, 1, new SplittableRandom(k)).refine(before.clone());
            assertTrue(p.feasible(after), "instance " + k + ": refinement broke a limit: memory over by "
                    + p.overflowMb(after) + " MB, balance by " + p.balanceExcess(after));
            assertTrue(p.objective(after) <= p.objective(before) + 1e-12, "instance " + k + " got worse");
            if (p.objective(after) < p.objective(before) - 1e-9) {
                improved++;
            }
        }
        assertTrue(refined >= INSTANCES, "too few repairable instances: " + refined);
        assertEquals(refined, improved, "refinement of a random placement always finds an improving move");
    }

    @Test
    void multilevelRunOnALargeTightProblemIsFeasible() {
        Problem p = randomProblem(new SplittableRandom(21), 3_000);
        int[] a = new MultilevelSearch(p, 1, 50, 0, 100).solve(MultilevelTest::roundRobin, (done, total) -> {});
        assertNotNull(a);
        assertTrue(p.feasible(a), "memory over by " + p.overflowMb(a) + " MB, balance by " + p.balanceExcess(a));
    }

    /** A stand-in for the relaxation: model i on device i mod m (the searches repair it). */
    private static int[] roundRobin(Problem q) {
        int[] a = new int[q.n];
        for (int i = 0; i < q.n; i++) {
            a[i] = i % q.m;
        }
        return a;
    }

    private static double[] round(double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = Math.round(v[i] * 1e6) / 1e6;
        }
        return r;
    }

    private static int[] randomPlacement(Problem p, SplittableRandom rng) {
        int[] a = new int[p.n];
        for (int i = 0; i < p.n; i++) {
            a[i] = rng.nextInt(p.m);
        }
        return a;
    }

    /**
     * A chain plus 2n forward edges up to 30 ahead; 2–8 devices, the last sometimes a CPU (distance 10, power 0.1),
     * one device a quarter of the others' memory; total capacity 1.1–1.5 × the demand; balance 0.3 on half.
     */
    static Problem randomProblem(SplittableRandom rng, int n) {
        int m = 2 + rng.nextInt(7);
        double[] demand = new double[n];
        double[] complexity = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            demand[i] = 5 + rng.nextInt(96);
            complexity[i] = rng.nextInt(5) == 0 ? 0 : demand[i] * (0.5 + rng.nextDouble());
            total += demand[i];
        }
        boolean cpu = rng.nextBoolean();
        double slack = 1.1 + 0.4 * rng.nextDouble();
        double[] capacity = new double[m];
        double[] power = new double[m];
        double[][] dist = new double[m][m];
        for (int d = 0; d < m; d++) {
            capacity[d] = (d == 0 ? 0.25 : 1) * slack * total / (m - 0.75);
            power[d] = cpu && d == m - 1 ? 0.1 : 1;
            for (int c = 0; c < m; c++) {
                dist[d][c] = d == c ? 0 : cpu && (d == m - 1 || c == m - 1) ? 10 : 1;
            }
        }
        int edges = n - 1 + 2 * n;
        int[] from = new int[edges];
        int[] to = new int[edges];
        double[] vol = new double[edges];
        for (int i = 0; i + 1 < n; i++) {
            from[i] = i;
            to[i] = i + 1;
            vol[i] = 1 + rng.nextInt(100);
        }
        for (int e = n - 1; e < edges; e++) {
            from[e] = rng.nextInt(n - 1);
            to[e] = Math.min(n - 1, from[e] + 1 + rng.nextInt(30));
            vol[e] = 1 + rng.nextInt(100);
        }
        Double balance = rng.nextBoolean() ? 0.3 : null;
        return new Problem(demand, complexity, capacity, power, dist, from, to, vol, 2, 1, balance);
    }
}
