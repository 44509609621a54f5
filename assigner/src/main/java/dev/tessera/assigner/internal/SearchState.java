package dev.tessera.assigner.internal;

/**
 * Not thread-safe; owns its arrays. A mutable assignment with its per-device memory and complexity loads ({@link
 * Loads}) and its communication cost, kept up to date as models move, so that a move's change in objective costs
 * O(degree + m).
 *
 * <p>A model may be unassigned ({@code -1}) while a start is being constructed; unassigned models carry no load and
 * their edges cost nothing until they are placed.
 */
public final class SearchState {
    public static final int UNASSIGNED = -1;

    public final Problem p;
    /** The device of each model, or {@link #UNASSIGNED}. */
    public final int[] a;
    public final Loads loads;
    /** Communication cost of the edges whose ends are both placed. */
    private double comm;

    private final double[] outAcc;
    private final double[] inAcc;
    private final int[] touched;
    private final boolean[] isTouched;
    private int touchedCount;

    /** A state with every model unassigned. */
    public SearchState(Problem p) {
        this.p = p;
        this.a = new int[p.n];
        java.util.Arrays.fill(a, UNASSIGNED);
        this.loads = new Loads(p);
        this.outAcc = new double[p.m];
        this.inAcc = new double[p.m];
        this.touched = new int[p.m];
        this.isTouched = new boolean[p.m];
    }

    /** A state holding a copy of {@code assignment}. */
    public SearchState(Problem p, int[] assignment) {
        this(p);
        for (int i = 0; i < p.n; i++) {
            place(i, assignment[i]);
        }
    }

    public SearchState copy() {
        return new SearchState(p, a);
    }

    public void copyFrom(SearchState o) {
        System.arraycopy(o.a, 0, a, 0, a.length);
        loads.copyFrom(o.loads);
        comm = o.comm;
    }

    public double objective() {
        return p.commScale * comm + loads.mismatch();
    }

    /** Whether model i fits on device b next to what is there now (ignoring i's own load if it is on b). */
    public boolean fits(int i, int b) {
        return a[i] == b ? p.withinLimits(b, loads.memory[b], loads.compute[b]) : loads.fitsWith(i, b);
    }

    /**
     * Gathers the traffic between model i and each device (edges to unassigned models are skipped) into the
     * accumulators; {@link #commCost(int)} then prices i on any device in O(touched devices).
     */
    public void gather(int i) {
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
    public double commCost(int b) {
        double[] row = p.dist[b];
        double c = 0;
        for (int k = 0; k < touchedCount; k++) {
            int d = touched[k];
            c += outAcc[d] * row[d] + inAcc[d] * p.dist[d][b];
        }
        return c;
    }

    /** Change of the complexity-mismatch term if complexity c moves from device from (or -1) to device to. */
    public double mismatchDelta(double c, int from, int to) {
        return loads.mismatchDelta(c, from, to);
    }

    /** Objective change of moving i to b; requires {@link #gather(int)} for i first. */
    public double moveDelta(int i, int b, double currentCommCost) {
        return p.commScale * (commCost(b) - currentCommCost) + mismatchDelta(p.complexity[i], a[i], b);
    }

    /**
     * Objective change of exchanging i and j (on different devices), without moving them. {@code costOfI[x]} is the
     * communication of i's edges if i sat on x, with everything else where it is. Each single move prices the
     * edges between i and j as if the other stayed put, so their true change is added back:
     * {@code (w_ij + w_ji) × (dist[a][b] + dist[b][a])}. Gathers j.
     */
    public double swapDelta(int i, int j, double[] costOfI) {
        int ai = a[i];
        int bj = a[j];
        gather(j);
        double moveJ = commCost(ai) - commCost(bj);
        double moveI = costOfI[bj] - costOfI[ai];
        double between = p.volumeBetween(i, j) * (p.dist[ai][bj] + p.dist[bj][ai]);
        return p.commScale * (moveI + moveJ + between)
                + loads.mismatchDelta(p.complexity[j] - p.complexity[i], bj, ai);
    }

    /** Moves (or first places) model i onto device b, keeping loads and communication exact. */
    public void place(int i, int b) {
        int from = a[i];
        if (from == b) {
            return;
        }
        gather(i);
        double before = from >= 0 ? commCost(from) : 0;
        double after = b >= 0 ? commCost(b) : 0;
        comm += after - before;
        if (from >= 0) {
            loads.remove(i, from);
        }
        if (b >= 0) {
            loads.add(i, b);
        }
        a[i] = b;
    }

    /** Recomputes the cached sums from scratch, removing accumulated rounding. */
    public void resync() {
        loads.clear();
        for (int i = 0; i < p.n; i++) {
            if (a[i] >= 0) {
                loads.add(i, a[i]);
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

    public boolean feasible() {
        return loads.feasible();
    }
}
