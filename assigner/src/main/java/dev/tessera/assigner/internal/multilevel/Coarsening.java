package dev.tessera.assigner.internal.multilevel;

import dev.tessera.assigner.internal.Problem;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Stateless and thread-safe; the caller owns the levels returned. Coarsening by heavy-edge matching under the limits,
 * as in METIS: models are visited in a random order (from the run's generator, so the seed fixes it), and each
 * unmatched model merges with the unmatched neighbour it exchanges the most volume with (both directions summed),
 * provided the pair may be placed: the merged demand and complexity fit on at least one device on their own ({@link
 * Problem#allowed}-style, so a coarse model never exceeds the largest device's usable memory), and stay under a cap
 * of {@value #CAP_FACTOR} × the total over the target number of coarse models, so that coarse models stay small
 * enough to pack and to balance. Edges between merged models are summed; edges inside one vanish (they cost 0 on any
 * placement, and the coarse problem keeps the fine one's scale, so objectives carry over exactly).
 *
 * <p>Coarsening stops at the target size, or when a round merges less than {@value #MIN_SHRINK} of the models (the
 * rest cannot be merged under the limits).
 */
public final class Coarsening {
    /** A coarse model may hold this many times the average demand (and complexity) at the target size. */
    static final double CAP_FACTOR = 1.5;
    /** A round that removes fewer than this fraction of the models ends the coarsening. */
    static final double MIN_SHRINK = 0.05;

    private Coarsening() {}

    /**
     * The levels from {@code p} down to about {@code target} models, finest first (empty when p is no larger than
     * the target or nothing can be merged). Level k's {@code map} maps the models of level k-1's coarse problem (of
     * p for k = 0) onto its own.
     */
    public static List<Level> hierarchy(Problem p, int target, SplittableRandom rng) {
        double maxDemand = CAP_FACTOR * sum(p.demand) / target;
        double maxComplexity = CAP_FACTOR * p.totalComplexity / target;
        List<Level> levels = new ArrayList<>();
        Problem current = p;
        while (current.n > target) {
            Level next = coarsen(current, maxDemand, maxComplexity, rng);
            if (next.coarse().n > (1 - MIN_SHRINK) * current.n) {
                break;
            }
            levels.add(next);
            current = next.coarse();
        }
        return levels;
    }

    /**
     * One round of heavy-edge matching. A pair merges only when its demand is at most {@code maxDemand}, its
     * complexity at most {@code maxComplexity} (or the pair has no complexity), and it fits some device's limits.
     */
    public static Level coarsen(Problem p, double maxDemand, double maxComplexity, SplittableRandom rng) {
        int[] match = match(p, maxDemand, maxComplexity, rng);
        int[] map = new int[p.n];
        Arrays.fill(map, -1);
        int count = 0;
        for (int i = 0; i < p.n; i++) {
            if (map[i] < 0) {
                map[i] = count;
                map[match[i]] = count;
                count++;
            }
        }
        double[] demand = new double[count];
        double[] complexity = new double[count];
        for (int i = 0; i < p.n; i++) {
            demand[map[i]] += p.demand[i];
            complexity[map[i]] += p.complexity[i];
        }
        return new Level(mergedEdges(p, map, count, demand, complexity), map);
    }

    /** match[i] is i's partner, or i itself. */
    private static int[] match(Problem p, double maxDemand, double maxComplexity, SplittableRandom rng) {
        int[] match = new int[p.n];
        Arrays.fill(match, -1);
        double[] weight = new double[p.n];
        int[] touched = new int[p.n];
        for (int i : shuffled(p.n, rng)) {
            if (match[i] >= 0) {
                continue;
            }
            int count = 0;
            count = accumulate(p.outStart, p.outNbr, p.outW, i, match, weight, touched, count);
            count = accumulate(p.inStart, p.inNbr, p.inW, i, match, weight, touched, count);
            int best = i;
            double bestWeight = 0;
            for (int k = 0; k < count; k++) {
                int j = touched[k];
                if (weight[j] > bestWeight && mergeable(p, i, j, maxDemand, maxComplexity)) {
                    best = j;
                    bestWeight = weight[j];
                }
                weight[j] = 0;
            }
            match[i] = best;
            match[best] = i;
        }
        return match;
    }

    /** Adds i's edges to unmatched neighbours into weight, listing each neighbour once in touched. */
    private static int accumulate(int[] start, int[] nbr, double[] w, int i, int[] match, double[] weight,
            int[] touched, int count) {
        for (int k = start[i]; k < start[i + 1]; k++) {
            int j = nbr[k];
            if (match[j] < 0 && j != i) {
                if (weight[j] == 0) {
                    touched[count++] = j;
                }
                weight[j] += Math.max(w[k], Double.MIN_VALUE);
            }
        }
        return count;
    }

    static boolean mergeable(Problem p, int i, int j, double maxDemand, double maxComplexity) {
        double demand = p.demand[i] + p.demand[j];
        double complexity = p.complexity[i] + p.complexity[j];
        if (demand > maxDemand || (complexity > 0 && complexity > maxComplexity)) {
            return false;
        }
        for (int d = 0; d < p.m; d++) {
            if (demand <= p.capacity[d] + Problem.EPS
                    && (p.complexityLimit == null || complexity <= p.complexityLimit[d] + Problem.EPS)) {
                return true;
            }
        }
        return false;
    }

    private static int[] shuffled(int n, SplittableRandom rng) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /** The coarse problem: each model's outgoing edges, summed per coarse target, edges inside a model dropped. */
    private static Problem mergedEdges(Problem p, int[] map, int count, double[] demand, double[] complexity) {
        int[] memberStart = new int[count + 1];
        for (int i = 0; i < p.n; i++) {
            memberStart[map[i] + 1]++;
        }
        for (int c = 0; c < count; c++) {
            memberStart[c + 1] += memberStart[c];
        }
        int[] fill = Arrays.copyOf(memberStart, count);
        int[] members = new int[p.n];
        for (int i = 0; i < p.n; i++) {
            members[fill[map[i]]++] = i;
        }
        int[] from = new int[p.outNbr.length];
        int[] to = new int[p.outNbr.length];
        double[] volume = new double[p.outNbr.length];
        double[] acc = new double[count];
        boolean[] seen = new boolean[count];
        int[] touched = new int[count];
        int edges = 0;
        for (int c = 0; c < count; c++) {
            int t = 0;
            for (int k = memberStart[c]; k < memberStart[c + 1]; k++) {
                int i = members[k];
                for (int e = p.outStart[i]; e < p.outStart[i + 1]; e++) {
                    int d = map[p.outNbr[e]];
                    if (d != c) {
                        if (!seen[d]) {
                            seen[d] = true;
                            touched[t++] = d;
                        }
                        acc[d] += p.outW[e];
                    }
                }
            }
            for (int k = 0; k < t; k++) {
                int d = touched[k];
                from[edges] = c;
                to[edges] = d;
                volume[edges++] = acc[d];
                acc[d] = 0;
                seen[d] = false;
            }
        }
        return new Problem(p, demand, complexity, Arrays.copyOf(from, edges), Arrays.copyOf(to, edges),
                Arrays.copyOf(volume, edges));
    }

    private static double sum(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s;
    }
}
