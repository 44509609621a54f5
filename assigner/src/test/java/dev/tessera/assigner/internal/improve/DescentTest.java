package dev.tessera.assigner.internal.improve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.SearchState;
import dev.tessera.assigner.internal.graph.Graph;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The descent's moves and swaps, priced from its cost table on small instances, checked by recounting the objective
 * of every single move and every swap at the end. Two kinds of problem make the worklist's answer a true local
 * optimum (with a complexity-match term or tight memory, a move elsewhere can change a far model's gain or room, and
 * the worklist does not revisit it): with room for everything on every device and no match term, no move may lower
 * the objective; with equal sizes and every device filled to its capacity, no model can move and only swaps remain,
 * and no swap may lower the objective.
 */
class DescentTest {
    private static final int INSTANCES = 60;

    @Test
    void withRoomEverywhereNoSingleMoveLowersTheObjective() {
        SplittableRandom rng = new SplittableRandom(3);
        for (int k = 0; k < INSTANCES; k++) {
            int n = 20 + rng.nextInt(21);
            int m = 2 + rng.nextInt(4);
            int[] start = randomAssignment(n, m, rng);
            Problem p = problem(n, m, start, rng, false);
            int[] a = descended(p, start, k);
            double slack = slack(p, a);
            for (int i = 0; i < n; i++) {
                for (int b = 0; b < m; b++) {
                    int[] moved = a.clone();
                    moved[i] = b;
                    assertTrue(p.objective(moved) >= p.objective(a) - slack, "instance " + k + ": moving " + i
                            + " to " + b + " lowers the objective");
                }
            }
        }
    }

    @Test
    void withEveryDeviceFullNoSwapLowersTheObjective() {
        SplittableRandom rng = new SplittableRandom(5);
        int swapsMade = 0;
        for (int k = 0; k < INSTANCES; k++) {
            int n = 20 + rng.nextInt(21);
            int m = 2 + rng.nextInt(4);
            int[] start = randomAssignment(n, m, rng);
            Problem p = problem(n, m, start, rng, true);
            int[] a = descended(p, start, k);
            swapsMade += differences(a, start);
            double slack = slack(p, a);
            for (int i = 0; i < n; i++) {
                for (int j = i + 1; j < n; j++) {
                    int[] swapped = a.clone();
                    swapped[i] = a[j];
                    swapped[j] = a[i];
                    assertTrue(p.objective(swapped) >= p.objective(a) - slack, "instance " + k + ": swapping " + i
                            + " and " + j + " lowers the objective");
                }
            }
        }
        assertTrue(swapsMade > INSTANCES, "the descents swapped too little to test swaps: " + swapsMade);
    }

    /** Descends from start and checks what every descent must give: feasible, exact cached objective, no worse. */
    private static int[] descended(Problem p, int[] start, int k) {
        SearchState s = new SearchState(p, start);
        new Descent(new Graph(p), new SplittableRandom(k), 1_000_000).improve(s);
        int[] a = s.a.clone();
        assertTrue(p.feasible(a), "instance " + k + " broke a limit");
        assertEquals(p.objective(a), s.objective(), 1e-9, "instance " + k + ": cached objective");
        assertTrue(p.objective(a) <= p.objective(start) + 1e-12, "instance " + k + " ended above its start");
        return a;
    }

    private static double slack(Problem p, int[] a) {
        return 1e-9 * Math.max(1, p.objective(a)) + Problem.IMPROVEMENT;
    }

    private static int differences(int[] a, int[] b) {
        int d = 0;
        for (int i = 0; i < a.length; i++) {
            d += a[i] == b[i] ? 0 : 1;
        }
        return d;
    }

    private static int[] randomAssignment(int n, int m, SplittableRandom rng) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = rng.nextInt(m);
        }
        return a;
    }

    /**
     * n models in a chain plus n random forward edges on m devices at uneven, asymmetric distances, no complexity-match term and
     * no balance limit. Full: every model 10 MB and each device's capacity exactly what start puts on it; otherwise
     * random sizes and room for all of them on every device.
     */
    private static Problem problem(int n, int m, int[] start, SplittableRandom rng, boolean full) {
        double[] demand = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            demand[i] = full ? 10 : 10 + rng.nextInt(90);
            total += demand[i];
        }
        double[] capacity = new double[m];
        for (int i = 0; i < n; i++) {
            capacity[start[i]] += full ? demand[i] : 0;
        }
        double[] power = new double[m];
        double[][] dist = new double[m][m];
        for (int d = 0; d < m; d++) {
            capacity[d] = full ? capacity[d] : total;
            power[d] = 1;
            for (int c = 0; c < m; c++) {
                dist[d][c] = d == c ? 0 : 1 + (2 * d + c) % 3; // uneven and asymmetric
            }
        }
        int edges = 2 * n - 1;
        int[] from = new int[edges];
        int[] to = new int[edges];
        double[] vol = new double[edges];
        for (int e = 0; e < edges; e++) {
            int i = e < n - 1 ? e : rng.nextInt(n - 1);
            from[e] = i;
            to[e] = e < n - 1 ? i + 1 : i + 1 + rng.nextInt(n - 1 - i);
            vol[e] = 1 + rng.nextInt(50);
        }
        return new Problem(demand, demand.clone(), capacity, power, dist, from, to, vol, 1, 0, null);
    }
}
