package dev.tessera.assigner.internal.graph;

import dev.tessera.assigner.internal.Problem;
import java.util.Arrays;

/**
 * Not thread-safe, one instance per order; the caller owns the placement it returns. The cheapest cut of an order into
 * consecutive segments, segment t on device {@code deviceOrder[t]} (segments may be empty), such that each segment
 * meets its device's memory and balance limits. A cut edge costs its volume (distance 1), so this is exact for
 * identical devices and a start otherwise.
 *
 * <p>Dynamic programming over cut positions: {@code best[t][k]} is the least traffic of placing the first k models on
 * the first t devices, and a segment [j, k) adds the volume of the edges from inside it to models at k or later. With
 * segments of at most L models (the largest device's limits bound L) it costs O(n·L·(m + degree)).
 */
public final class PipelineCut {
    /** Longest order the dynamic programme is run on: its tables are (m + 1)·(n + 1) entries. */
    private static final int MAX_MODELS = 1500;

    private final Problem p;
    private final int[] order;
    private final int n;
    /** Prefix sums of demand and complexity along the order. */
    private final double[] dem;
    private final double[] cmp;
    /** Edges by their lower end in the order: hiOf/volOf[loStart[j] .. loStart[j + 1]) are those with lo == j. */
    private int[] loStart;
    private int[] hiOf;
    private double[] volOf;

    private PipelineCut(Problem p, int[] order) {
        this.p = p;
        this.order = order;
        this.n = p.n;
        this.dem = new double[n + 1];
        this.cmp = new double[n + 1];
        for (int k = 0; k < n; k++) {
            dem[k + 1] = dem[k] + p.demand[order[k]];
            cmp[k + 1] = cmp[k] + p.complexity[order[k]];
        }
        indexEdges();
    }

    /** The cut as a placement, or null when no cut of this order is feasible or the order is too long for it. */
    public static int[] of(Problem p, int[] order, int[] deviceOrder) {
        if (p.n == 0 || p.n > MAX_MODELS) {
            return null;
        }
        return new PipelineCut(p, order).solve(deviceOrder);
    }

    private void indexEdges() {
        int[] pos = new int[n];
        for (int k = 0; k < n; k++) {
            pos[order[k]] = k;
        }
        loStart = new int[n + 1];
        for (int e = 0; e < p.edgeFrom.length; e++) {
            int lo = Math.min(pos[p.edgeFrom[e]], pos[p.edgeTo[e]]);
            if (lo != Math.max(pos[p.edgeFrom[e]], pos[p.edgeTo[e]])) {
                loStart[lo + 1]++;
            }
        }
        for (int j = 0; j < n; j++) {
            loStart[j + 1] += loStart[j];
        }
        hiOf = new int[loStart[n]];
        volOf = new double[loStart[n]];
        int[] fill = Arrays.copyOf(loStart, n);
        for (int e = 0; e < p.edgeFrom.length; e++) {
            int lo = Math.min(pos[p.edgeFrom[e]], pos[p.edgeTo[e]]);
            int hi = Math.max(pos[p.edgeFrom[e]], pos[p.edgeTo[e]]);
            if (lo != hi) {
                hiOf[fill[lo]] = hi;
                volOf[fill[lo]++] = p.edgeVolume[e];
            }
        }
    }

    private int[] solve(int[] deviceOrder) {
        int segments = deviceOrder.length;
        double[][] best = new double[segments + 1][n + 1];
        int[][] from = new int[segments + 1][n + 1];
        for (double[] row : best) {
            Arrays.fill(row, Double.POSITIVE_INFINITY);
        }
        best[0][0] = 0;
        double maxCap = 0;
        double maxLim = 0;
        for (int d : deviceOrder) {
            maxCap = Math.max(maxCap, capacityLimit(d));
            maxLim = Math.max(maxLim, balanceLimit(d));
        }
        // cross[k - 1 - j]: volume of edges with j <= lo < k <= hi, the traffic a segment [j, k) sends past k
        double[] cross = new double[n];
        for (int k = 0; k <= n; k++) {
            int reach = crossings(k, maxCap, maxLim, cross);
            for (int t = 1; t <= segments; t++) {
                relax(deviceOrder[t - 1], k, reach, cross, best[t - 1], best[t], from[t]);
            }
        }
        return best[segments][n] == Double.POSITIVE_INFINITY ? null : trace(deviceOrder, from);
    }

    /**
     * Fills {@code cross} for the segments ending at k that the largest limits allow and returns the lowest start
     * {@code reach} of such a segment.
     */
    private int crossings(int k, double maxCap, double maxLim, double[] cross) {
        int reach = k;
        double running = 0;
        while (reach > 0 && dem[k] - dem[reach - 1] <= maxCap && cmp[k] - cmp[reach - 1] <= maxLim) {
            int j = --reach;
            if (k < n) {
                for (int q = loStart[j]; q < loStart[j + 1]; q++) {
                    if (hiOf[q] >= k) {
                        running += volOf[q];
                    }
                }
            }
            cross[k - 1 - j] = running;
        }
        return reach;
    }

    /** best[k] on device d: an empty segment, or the cheapest feasible segment [j, k) after prev[j]. */
    private void relax(int d, int k, int reach, double[] cross, double[] prev, double[] best, int[] from) {
        double lim = balanceLimit(d);
        double cap = capacityLimit(d);
        best[k] = prev[k];
        from[k] = k;
        for (int j = k - 1; j >= reach; j--) {
            if (dem[k] - dem[j] > cap || cmp[k] - cmp[j] > lim) {
                break;
            }
            if (prev[j] == Double.POSITIVE_INFINITY) {
                continue;
            }
            double cost = prev[j] + cross[k - 1 - j];
            if (cost < best[k]) {
                best[k] = cost;
                from[k] = j;
            }
        }
    }

    private int[] trace(int[] deviceOrder, int[][] from) {
        int[] a = new int[n];
        int k = n;
        for (int t = deviceOrder.length; t >= 1; t--) {
            int j = from[t][k];
            for (int q = j; q < k; q++) {
                a[order[q]] = deviceOrder[t - 1];
            }
            k = j;
        }
        return a;
    }

    private double capacityLimit(int d) {
        return p.capacity[d] + Problem.tolerance(p.capacity[d]);
    }

    private double balanceLimit(int d) {
        return p.complexityLimit == null
                ? Double.POSITIVE_INFINITY
                : p.complexityLimit[d] + Problem.tolerance(p.complexityLimit[d]);
    }
}
