package dev.tessera.assigner.internal;

/**
 * A mutable assignment with its per-device memory and complexity loads and its communication cost, kept up to
 * date as models move, so that a move's change in objective costs O(degree + m). Not thread-safe.
 *
 * <p>A model may be unassigned ({@code -1}) while a start is being constructed; unassigned models carry no load
 * and their edges cost nothing until they are placed.
 */
final class SearchState {
    static final int UNASSIGNED = -1;

    final Problem p;
    final int[] a;
    final double[] load;
    final double[] comp;
    double comm;

    private final double[] outAcc;
    private final double[] inAcc;
    private final int[] touched;
    private final boolean[] isTouched;
    private int touchedCount;

    SearchState(Problem p) {
        this.p = p;
        this.a = new int[p.n];
        java.util.Arrays.fill(a, UNASSIGNED);
        this.load = new double[p.m];
        this.comp = new double[p.m];
        this.outAcc = new double[p.m];
        this.inAcc = new double[p.m];
        this.touched = new int[p.m];
        this.isTouched = new boolean[p.m];
    }

    SearchState(Problem p, int[] assignment) {
        this(p);
        for (int i = 0; i < p.n; i++) {
            place(i, assignment[i]);
        }
    }

    SearchState copy() {
        return new SearchState(p, a);
    }

    void copyFrom(SearchState o) {
        System.arraycopy(o.a, 0, a, 0, a.length);
        System.arraycopy(o.load, 0, load, 0, load.length);
        System.arraycopy(o.comp, 0, comp, 0, comp.length);
        comm = o.comm;
    }

    double objective() {
        return p.commScale * comm + p.complexityMismatch(comp);
    }

    /** Whether model i fits on device b next to what is there now (ignoring i's own load if it is on b). */
    boolean fits(int i, int b) {
        double extraLoad = a[i] == b ? 0 : p.demand[i];
        double extraComp = a[i] == b ? 0 : p.complexity[i];
        return p.withinLimits(b, load[b] + extraLoad, comp[b] + extraComp);
    }

    double memoryViolation(int d) {
        return Math.max(0, load[d] - p.capacity[d] - Problem.tolerance(p.capacity[d]));
    }

    double balanceViolation(int d) {
        double[] lim = p.complexityLimit;
        return lim == null ? 0 : Math.max(0, comp[d] - lim[d] - Problem.tolerance(lim[d]));
    }

    boolean violated(int d) {
        return memoryViolation(d) > 0 || balanceViolation(d) > 0;
    }

    /**
     * Gathers the traffic between model i and each device (edges to unassigned models are skipped) into the
     * accumulators; {@link #commCost(int)} then prices i on any device in O(touched devices).
     */
    void gather(int i) {
        for (int k = 0; k < touchedCount; k++) {
            int d = touched[k];
            outAcc[d] = 0;
            inAcc[d] = 0;
            isTouched[d] = false;
        }
        touchedCount = 0;
        for (int k = p.outStart[i]; k < p.outStart[i + 1]; k++) {
            int d = a[p.outNbr[k]];
            if (d >= 0) {
                touch(d);
                outAcc[d] += p.outW[k];
            }
        }
        for (int k = p.inStart[i]; k < p.inStart[i + 1]; k++) {
            int d = a[p.inNbr[k]];
            if (d >= 0) {
                touch(d);
                inAcc[d] += p.inW[k];
            }
        }
    }

    private void touch(int d) {
        if (!isTouched[d]) {
            isTouched[d] = true;
            touched[touchedCount++] = d;
        }
    }

    /** Communication cost of the gathered model's edges if it sat on device b. */
    double commCost(int b) {
        double[] row = p.dist[b];
        double c = 0;
        for (int k = 0; k < touchedCount; k++) {
            int d = touched[k];
            c += outAcc[d] * row[d] + inAcc[d] * p.dist[d][b];
        }
        return c;
    }

    /** Change of the complexity-mismatch term if complexity c moves from device from (or -1) to device to. */
    double mismatchDelta(double c, int from, int to) {
        return p.mismatchDelta(comp, c, from, to);
    }

    /** Objective change of moving i to b; requires {@link #gather(int)} for i first. */
    double moveDelta(int i, int b, double currentCommCost) {
        return p.commScale * (commCost(b) - currentCommCost) + mismatchDelta(p.complexity[i], a[i], b);
    }

    /**
     * Objective change of exchanging i and j (on different devices), without moving them. {@code costOfI[x]} is the
     * communication of i's edges if i sat on x, with everything else where it is. Each single move prices the
     * edges between i and j as if the other stayed put, so their true change is added back:
     * {@code (w_ij + w_ji) × (dist[a][b] + dist[b][a])}. Gathers j.
     */
    double swapDelta(int i, int j, double[] costOfI) {
        int ai = a[i];
        int bj = a[j];
        gather(j);
        double moveJ = commCost(ai) - commCost(bj);
        double moveI = costOfI[bj] - costOfI[ai];
        double between = p.volumeBetween(i, j) * (p.dist[ai][bj] + p.dist[bj][ai]);
        return p.commScale * (moveI + moveJ + between)
                + p.mismatchDelta(comp, p.complexity[j] - p.complexity[i], bj, ai);
    }

    /** Moves (or first places) model i onto device b, keeping loads and communication exact. */
    void place(int i, int b) {
        int from = a[i];
        if (from == b) {
            return;
        }
        gather(i);
        double before = from >= 0 ? commCost(from) : 0;
        double after = b >= 0 ? commCost(b) : 0;
        comm += after - before;
        if (from >= 0) {
            load[from] -= p.demand[i];
            comp[from] -= p.complexity[i];
        }
        if (b >= 0) {
            load[b] += p.demand[i];
            comp[b] += p.complexity[i];
        }
        a[i] = b;
    }

    /** Recomputes the cached sums from scratch, removing accumulated rounding. */
    void resync() {
        java.util.Arrays.fill(load, 0);
        java.util.Arrays.fill(comp, 0);
        for (int i = 0; i < p.n; i++) {
            if (a[i] >= 0) {
                load[a[i]] += p.demand[i];
                comp[a[i]] += p.complexity[i];
            }
        }
        double c = 0;
        for (int e = 0; e < p.edgeFrom.length; e++) {
            int f = a[p.edgeFrom[e]];
            int t = a[p.edgeTo[e]];
            if (f >= 0 && t >= 0) {
                c += p.edgeVolume[e] * p.dist[f][t];
            }
        }
        comm = c;
    }

    boolean feasible() {
        for (int d = 0; d < p.m; d++) {
            if (violated(d)) {
                return false;
            }
        }
        return true;
    }
}
