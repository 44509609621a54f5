package dev.tessera.assigner.internal.improve;

import dev.tessera.assigner.internal.Problem;
import java.util.Arrays;

/**
 * Not thread-safe; owns its n×m table. Each model's communication cost on every device, with every other model where
 * it is: {@code cost(i, d) = Σ_{i→j} w·dist[d][a_j] + Σ_{j→i} w·dist[a_j][d]}, unassigned neighbours left out.
 * Loading an assignment costs O(E·m); a move of one model updates its neighbours' rows in O(degree·m). The tabu walk
 * prices every move from it, and the descent prices swaps from it on small instances: a swap of i and j then costs
 * O(1) (two rows and the volume between them) instead of a gather of j's edges.
 */
final class CostTable {
    private final Problem p;
    private final int m;
    private final double[] cost;

    CostTable(Problem p) {
        this.p = p;
        this.m = p.m;
        this.cost = new double[p.n * p.m];
    }

    /** The communication of model i's edges if i sat on device d. */
    double cost(int i, int d) {
        return cost[i * m + d];
    }

    /** Rebuilds every row for assignment a (a device per model, or -1 for unassigned). */
    void load(int[] a) {
        Arrays.fill(cost, 0);
        for (int i = 0; i < p.n; i++) {
            price(i, a);
        }
    }

    /** Updates the neighbours' rows for model j moving from device x to device y (either may be -1). */
    void moved(int j, int x, int y) {
        if (x < 0 || y < 0) {
            if (x >= 0) {
                shift(j, x, -1);
            }
            if (y >= 0) {
                shift(j, y, 1);
            }
            return;
        }
        double[] dy = p.dist[y];
        double[] dx = p.dist[x];
        for (int k = p.outStart[j]; k < p.outStart[j + 1]; k++) {
            int row = p.outNbr[k] * m;
            double w = p.outW[k];
            for (int d = 0; d < m; d++) {
                cost[row + d] += w * (dy[d] - dx[d]);
            }
        }
        for (int k = p.inStart[j]; k < p.inStart[j + 1]; k++) {
            int row = p.inNbr[k] * m;
            double w = p.inW[k];
            for (int d = 0; d < m; d++) {
                cost[row + d] += w * (p.dist[d][y] - p.dist[d][x]);
            }
        }
    }

    /** Adds (sign 1) or removes (sign -1) the cost that j on device x gives its neighbours. */
    private void shift(int j, int x, int sign) {
        for (int k = p.outStart[j]; k < p.outStart[j + 1]; k++) {
            int row = p.outNbr[k] * m;
            double w = sign * p.outW[k];
            for (int d = 0; d < m; d++) {
                cost[row + d] += w * p.dist[x][d];
            }
        }
        for (int k = p.inStart[j]; k < p.inStart[j + 1]; k++) {
            int row = p.inNbr[k] * m;
            double w = sign * p.inW[k];
            for (int d = 0; d < m; d++) {
                cost[row + d] += w * p.dist[d][x];
            }
        }
    }

    /** Adds model i's edges, priced on every device, to its row. */
    private void price(int i, int[] a) {
        int row = i * m;
        for (int k = p.outStart[i]; k < p.outStart[i + 1]; k++) {
            double w = p.outW[k];
            int t = a[p.outNbr[k]];
            if (t < 0) {
                continue;
            }
            for (int d = 0; d < m; d++) {
                cost[row + d] += w * p.dist[d][t];
            }
        }
        for (int k = p.inStart[i]; k < p.inStart[i + 1]; k++) {
            double w = p.inW[k];
            int f = a[p.inNbr[k]];
            if (f < 0) {
                continue;
            }
            double[] fromNbr = p.dist[f];
            for (int d = 0; d < m; d++) {
                cost[row + d] += w * fromNbr[d];
            }
        }
    }
}
