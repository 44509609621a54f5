package dev.tessera.assigner.internal.start;

import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.SearchState;

/**
 * Stateless and thread-safe; the caller owns the placement returned. Greedy insertion in a given order: each model goes
 * to the feasible device where it adds least to the objective (ties: the device with the most free memory). Models that
 * fit nowhere go to the device they overfill least; repair deals with them.
 */
public final class Greedy {
    private Greedy() {}

    public static int[] place(Problem p, int[] order) {
        SearchState s = new SearchState(p);
        for (int i : order) {
            int d = cheapestFit(s, i);
            s.place(i, d >= 0 ? d : leastOverfilled(s, i));
        }
        return s.a.clone();
    }

    /** The feasible device where i adds least to the objective (ties: most free memory), or -1. */
    private static int cheapestFit(SearchState s, int i) {
        Problem p = s.p;
        s.gather(i);
        int bestD = -1;
        double bestCost = Double.POSITIVE_INFINITY;
        double bestFree = Double.NEGATIVE_INFINITY;
        for (int d = 0; d < p.m; d++) {
            if (!s.fits(i, d)) {
                continue;
            }
            double cost = p.commScale * s.commCost(d) + s.mismatchDelta(p.complexity[i], -1, d);
            double free = p.capacity[d] - s.loads.memory[d];
            if (cost < bestCost - Problem.IMPROVEMENT
                    || (cost <= bestCost + Problem.IMPROVEMENT && free > bestFree)) {
                bestD = d;
                bestCost = cost;
                bestFree = free;
            }
        }
        return bestD;
    }

    /** The allowed device whose memory i overfills least (relative to its capacity); device 0 when none is allowed. */
    static int leastOverfilled(SearchState s, int i) {
        Problem p = s.p;
        int best = 0;
        double bestOver = Double.POSITIVE_INFINITY;
        for (int d = 0; d < p.m; d++) {
            if (!p.allowed(i, d)) {
                continue;
            }
            double over = (s.loads.memory[d] + p.demand[i]) / Math.max(p.capacity[d], 1e-9);
            if (over < bestOver) {
                best = d;
                bestOver = over;
            }
        }
        return best;
    }
}
