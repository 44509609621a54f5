package dev.tessera.assigner.internal;

import java.util.Arrays;

/**
 * Immutable after construction (callers must not write its public arrays), so safe to share: a placement problem
 * reduced to arrays, what the optimisers work on.
 *
 * <p>The exact objective (see {@code README.md} of the assigner module):
 *
 * <pre>
 *   comm      = Σ_e volume_e × dist[dev(from_e)][dev(to_e)]
 *   objective = connectionWeight × comm / (Σ volume × max dist)
 *             + complexityMatchWeight × Σ_d (complexity share_d − power share_d)²
 * </pre>
 *
 * subject to Σ demand on d ≤ capacity_d and, when {@code balanceTolerance} is set, Σ complexity on d ≤
 * limit_d. Edges are stored as given and also as merged CSR adjacency lists (self loops dropped: they cost 0 on
 * any placement) for the incremental move evaluation.
 */
public final class Problem {
    /** Slack that absorbs rounding when comparing loads with capacities. */
    public static final double EPS = 1e-9;
    /** Smallest objective decrease the searches count as an improvement (below it is rounding). */
    public static final double IMPROVEMENT = 1e-12;

    public final int n;
    public final int m;
    public final double[] demand;
    public final double[] complexity;
    public final double[] capacity;
    public final double[] power;
    public final double[] powerShare;
    public final double[][] dist;
    public final double maxDist;
    public final int[] edgeFrom;
    public final int[] edgeTo;
    public final double[] edgeVolume;
    public final double totalVolume;
    public final double totalComplexity;
    public final double connectionWeight;
    public final double complexityMatchWeight;
    /** connectionWeight / (Σ volume × max dist), or 0 when there is no traffic. */
    public final double commScale;
    /** Per-device complexity limit, or null when balance is not constrained. */
    public final double[] complexityLimit;

    /** Outgoing edges of model i in CSR form: {@code outNbr/outW[outStart[i] .. outStart[i + 1])}, merged volumes. */
    public final int[] outStart;
    public final int[] outNbr;
    public final double[] outW;
    /** Incoming edges of model i in CSR form, as for the outgoing ones. */
    public final int[] inStart;
    public final int[] inNbr;
    public final double[] inW;

    public Problem(
            double[] demand,
            double[] complexity,
            double[] capacity,
            double[] power,
            double[][] dist,
            int[] edgeFrom,
            int[] edgeTo,
            double[] edgeVolume,
            double connectionWeight,
            double complexityMatchWeight,
            Double balanceTolerance) {
        this.n = demand.length;
        this.m = capacity.length;
        this.demand = demand.clone();
        this.complexity = complexity.clone();
        this.capacity = capacity.clone();
        this.power = power.clone();
        this.dist = copyRows(dist, m);
        this.maxDist = largest(this.dist);
        this.edgeFrom = edgeFrom.clone();
        this.edgeTo = edgeTo.clone();
        this.edgeVolume = edgeVolume.clone();
        this.totalVolume = Arrays.stream(edgeVolume).sum();
        this.totalComplexity = Arrays.stream(complexity).sum();
        this.connectionWeight = connectionWeight;
        this.complexityMatchWeight = complexityMatchWeight;
        this.commScale = totalVolume > 0 && maxDist > 0 ? connectionWeight / (totalVolume * maxDist) : 0;
        this.powerShare = shares(power);
        this.complexityLimit = balanceTolerance == null ? null : limits(balanceTolerance);
        int[][] csr = buildCsr(edgeFrom, edgeTo);
        outStart = csr[0];
        outNbr = csr[1];
        outW = weights(csr[2]);
        int[][] csrIn = buildCsr(edgeTo, edgeFrom);
        inStart = csrIn[0];
        inNbr = csrIn[1];
        inW = weights(csrIn[2]);
    }

    /**
     * The problem {@code like} poses, for other models on the same devices: a coarser graph whose model i stands for
     * several of like's. Devices, distances, weights and balance limits are like's; so are the total volume and the
     * communication scale, so that (with the volume inside merged models, which costs 0 on any placement, left out
     * of the edges) a coarse placement has exactly the objective of the fine placement it stands for.
     */
    public Problem(Problem like, double[] demand, double[] complexity, int[] edgeFrom, int[] edgeTo,
            double[] edgeVolume) {
        this.n = demand.length;
        this.m = like.m;
        this.demand = demand.clone();
        this.complexity = complexity.clone();
        this.capacity = like.capacity;
        this.power = like.power;
        this.powerShare = like.powerShare;
        this.dist = like.dist;
        this.maxDist = like.maxDist;
        this.edgeFrom = edgeFrom.clone();
        this.edgeTo = edgeTo.clone();
        this.edgeVolume = edgeVolume.clone();
        this.totalVolume = like.totalVolume;
        this.totalComplexity = like.totalComplexity;
        this.connectionWeight = like.connectionWeight;
        this.complexityMatchWeight = like.complexityMatchWeight;
        this.commScale = like.commScale;
        this.complexityLimit = like.complexityLimit;
        int[][] csr = buildCsr(edgeFrom, edgeTo);
        outStart = csr[0];
        outNbr = csr[1];
        outW = weights(csr[2]);
        int[][] csrIn = buildCsr(edgeTo, edgeFrom);
        inStart = csrIn[0];
        inNbr = csrIn[1];
        inW = weights(csrIn[2]);
    }

    private static double[][] copyRows(double[][] rows, int count) {
        double[][] copy = new double[count][];
        for (int d = 0; d < count; d++) {
            copy[d] = rows[d].clone();
        }
        return copy;
    }

    private static double largest(double[][] rows) {
        double max = 0;
        for (double[] row : rows) {
            for (double x : row) {
                max = Math.max(max, x);
            }
        }
        return max;
    }

    /** Each value over their sum, or all 0 when the sum is not positive. */
    private static double[] shares(double[] values) {
        double total = Arrays.stream(values).sum();
        double[] share = new double[values.length];
        for (int d = 0; d < values.length; d++) {
            share[d] = total > 0 ? values[d] / total : 0;
        }
        return share;
    }

    private double[] limits(double tolerance) {
        double maxComplexity = Arrays.stream(complexity).max().orElse(0);
        double[] lim = new double[m];
        for (int d = 0; d < m; d++) {
            lim[d] = (1 + tolerance) * powerShare[d] * totalComplexity;
            if (power[d] > 0) {
                lim[d] = Math.max(lim[d], maxComplexity);
            }
        }
        return lim;
    }

    /** CSR rows for src -> dst, self loops dropped; third array holds the original edge ids. */
    private int[][] buildCsr(int[] src, int[] dst) {
        int[] start = new int[n + 1];
        for (int e = 0; e < src.length; e++) {
            if (src[e] != dst[e]) {
                start[src[e] + 1]++;
            }
        }
        for (int i = 0; i < n; i++) {
            start[i + 1] += start[i];
        }
        int[] fill = Arrays.copyOf(start, n);
        int[] nbr = new int[start[n]];
        int[] ids = new int[start[n]];
        for (int e = 0; e < src.length; e++) {
            if (src[e] != dst[e]) {
                int k = fill[src[e]]++;
                nbr[k] = dst[e];
                ids[k] = e;
            }
        }
        return new int[][] {start, nbr, ids};
    }

    private double[] weights(int[] ids) {
        double[] w = new double[ids.length];
        for (int k = 0; k < ids.length; k++) {
            w[k] = edgeVolume[ids[k]];
        }
        return w;
    }

    public boolean balanced() {
        return complexityLimit != null;
    }

    /** Whether model i may ever sit on device d on its own (fits memory and, if set, the balance limit). */
    public boolean allowed(int i, int d) {
        return demand[i] <= capacity[d] + EPS && (complexityLimit == null || complexity[i] <= complexityLimit[d] + EPS);
    }

    /** The exact communication cost of an assignment. */
    public double communication(int[] a) {
        double c = 0;
        for (int e = 0; e < edgeFrom.length; e++) {
            c += edgeVolume[e] * dist[a[edgeFrom[e]]][a[edgeTo[e]]];
        }
        return c;
    }

    /** complexityMatchWeight × Σ_d (complexity share − power share)². */
    public double complexityMismatch(double[] comp) {
        if (totalComplexity <= 0 || complexityMatchWeight == 0) {
            return 0;
        }
        double s = 0;
        for (int d = 0; d < m; d++) {
            double x = comp[d] / totalComplexity - powerShare[d];
            s += x * x;
        }
        return complexityMatchWeight * s;
    }

    /** The exact objective of an assignment. */
    public double objective(int[] a) {
        return commScale * communication(a) + complexityMismatch(loads(a, complexity));
    }

    /** Per-device sums of {@code values} under assignment a. */
    public double[] loads(int[] a, double[] values) {
        double[] l = new double[m];
        for (int i = 0; i < n; i++) {
            l[a[i]] += values[i];
        }
        return l;
    }

    /** MB by which the assignment overfills memory, summed over devices. */
    public double overflowMb(int[] a) {
        double[] load = loads(a, demand);
        double o = 0;
        for (int d = 0; d < m; d++) {
            o += Math.max(0, load[d] - capacity[d]);
        }
        return o;
    }

    /** Complexity above the balance limits, summed over devices (0 when balance is not set). */
    public double balanceExcess(int[] a) {
        if (complexityLimit == null) {
            return 0;
        }
        double[] comp = loads(a, complexity);
        double o = 0;
        for (int d = 0; d < m; d++) {
            o += Math.max(0, comp[d] - complexityLimit[d]);
        }
        return o;
    }

    public boolean feasible(int[] a) {
        double[] load = loads(a, demand);
        double[] comp = loads(a, complexity);
        for (int d = 0; d < m; d++) {
            if (!withinLimits(d, load[d], comp[d])) {
                return false;
            }
        }
        return true;
    }

    /** Whether device d meets its memory limit and, if set, its balance limit at the given loads. */
    public boolean withinLimits(int d, double load, double comp) {
        return load <= capacity[d] + tolerance(capacity[d])
                && (complexityLimit == null || comp <= complexityLimit[d] + tolerance(complexityLimit[d]));
    }

    /**
     * How far device d is over its limits at the given loads, relative to them: memory excess / capacity plus
     * complexity excess / balance limit; 0 when within both.
     */
    public double relativeExcess(int d, double load, double comp) {
        double v = 0;
        double over = load - capacity[d] - tolerance(capacity[d]);
        if (over > 0) {
            v += over / Math.max(capacity[d], 1e-9);
        }
        if (complexityLimit != null) {
            double cover = comp - complexityLimit[d] - tolerance(complexityLimit[d]);
            if (cover > 0) {
                v += cover / Math.max(complexityLimit[d], 1e-9);
            }
        }
        return v;
    }

    /**
     * Change of the complexity-mismatch term when complexity c moves from device {@code from} (or -1: not yet
     * placed) to device {@code to} (or -1: removed), given the per-device complexities {@code comp}.
     */
    public double mismatchDelta(double[] comp, double c, int from, int to) {
        if (totalComplexity <= 0 || complexityMatchWeight == 0 || c == 0 || from == to) {
            return 0;
        }
        double s = c / totalComplexity;
        double delta = 0;
        if (from >= 0) {
            double x = comp[from] / totalComplexity - powerShare[from];
            delta += s * s - 2 * x * s;
        }
        if (to >= 0) {
            double x = comp[to] / totalComplexity - powerShare[to];
            delta += s * s + 2 * x * s;
        }
        return complexityMatchWeight * delta;
    }

    /** Total volume of the edges between i and j, in either direction (0 when they are not connected). */
    public double volumeBetween(int i, int j) {
        double w = 0;
        for (int k = outStart[i]; k < outStart[i + 1]; k++) {
            if (outNbr[k] == j) {
                w += outW[k];
            }
        }
        for (int k = inStart[i]; k < inStart[i + 1]; k++) {
            if (inNbr[k] == j) {
                w += inW[k];
            }
        }
        return w;
    }

    /** Relative slack for capacity comparisons, so that sums of many floats do not flip feasibility. */
    public static double tolerance(double limit) {
        return EPS + 1e-12 * Math.abs(limit);
    }
}
