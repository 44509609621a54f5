package dev.tessera.assigner.internal.improve;

import dev.tessera.assigner.internal.Loads;
import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.SearchState;
import java.util.Arrays;

/**
 * Exact re-optimisation of a window of models with every other model fixed: depth-first enumeration of all
 * feasible device choices. Before the enumeration it prices, once per window, each window model on each device
 * against its fixed neighbours, and lists the edges inside the window by their later end; a node of the search then
 * costs O(m + edges to earlier window models), with no per-node gather over adjacency lists. A branch stops as
 * soon as its partial traffic cost reaches the best found: edges cost ≥ 0 and the mismatch term is a sum of
 * squares, so no completion can win. Not thread-safe; one instance per search, reused across windows.
 */
final class WindowSearch {
    private final Problem p;
    /** Whether only communication counts (complexityMatchWeight = 0), so the mismatch term need not be computed. */
    private final boolean commOnly;
    /** slot[i]: the position of model i in the current window, or -1. */
    private final int[] slot;
    /** The fixed models' loads plus those of the window models placed so far in the enumeration. */
    private final Loads loads;

    private int size;
    private int[] window = new int[0];
    /** fixed[t * m + d]: the traffic cost of window model t on device d with its fixed neighbours. */
    private double[] fixed = new double[0];
    /** Inner edges of window model t: to/from earlier window models, in innerStart[t] .. innerStart[t + 1]. */
    private int[] innerStart = new int[1];
    private int[] innerSlot = new int[0];
    private double[] innerOut = new double[0];
    private double[] innerIn = new double[0];
    private int[] current = new int[0];
    private int[] best;
    private double bestValue;

    WindowSearch(Problem p) {
        this.p = p;
        this.commOnly = p.complexityMatchWeight == 0 || p.totalComplexity == 0;
        this.slot = new int[p.n];
        Arrays.fill(slot, -1);
        this.loads = new Loads(p);
    }

    /** Solves the window exactly with everything else fixed; applies the result and returns true when it is better. */
    boolean optimize(SearchState s, int[] models) {
        prepare(s, models);
        // the incumbent, priced the same way, so that only the window's own share is compared; the window's loads
        // come off the fixed ones
        double incumbentComm = 0;
        for (int t = 0; t < size; t++) {
            int d = s.a[window[t]];
            current[t] = d;
            incumbentComm += priceAt(t, d);
            loads.remove(window[t], d);
        }
        double incumbent = p.commScale * incumbentComm + mismatchWithWindow(current);
        bestValue = incumbent - Problem.IMPROVEMENT * Math.max(1, Math.abs(s.objective()));
        best = null;
        search(0, 0);
        for (int t = 0; t < size; t++) {
            slot[window[t]] = -1;
        }
        if (best == null) {
            return false;
        }
        for (int t = 0; t < size; t++) {
            s.place(window[t], best[t]);
        }
        return true;
    }

    private void prepare(SearchState s, int[] models) {
        size = models.length;
        if (window.length < size) {
            window = new int[size];
            current = new int[size];
            fixed = new double[size * p.m];
            innerStart = new int[size + 1];
        }
        System.arraycopy(models, 0, window, 0, size);
        for (int t = 0; t < size; t++) {
            slot[window[t]] = t;
        }
        loads.copyFrom(s.loads);
        Arrays.fill(fixed, 0, size * p.m, 0);
        int inner = 0;
        for (int t = 0; t < size; t++) {
            innerStart[t] = inner;
            inner = priceEdges(s, t, inner);
        }
        innerStart[size] = inner;
    }

    /**
     * Adds window model t's edges to fixed models into {@code fixed} and lists its edges to earlier window models
     * from {@code inner} on; returns the new end of that list.
     */
    private int priceEdges(SearchState s, int t, int inner) {
        int i = window[t];
        int m = p.m;
        for (int k = p.outStart[i]; k < p.outStart[i + 1]; k++) {
            int j = p.outNbr[k];
            int u = slot[j];
            if (u < 0) {
                double w = p.outW[k];
                int dj = s.a[j];
                for (int d = 0; d < m; d++) {
                    fixed[t * m + d] += w * p.dist[d][dj];
                }
            } else if (u < t) {
                inner = addInner(inner, u, p.outW[k], 0);
            }
        }
        for (int k = p.inStart[i]; k < p.inStart[i + 1]; k++) {
            int j = p.inNbr[k];
            int u = slot[j];
            if (u < 0) {
                double w = p.inW[k];
                int dj = s.a[j];
                for (int d = 0; d < m; d++) {
                    fixed[t * m + d] += w * p.dist[dj][d];
                }
            } else if (u < t) {
                inner = addInner(inner, u, 0, p.inW[k]);
            }
        }
        return inner;
    }

    private int addInner(int at, int u, double out, double in) {
        if (at == innerSlot.length) {
            int grown = Math.max(16, 2 * at);
            innerSlot = Arrays.copyOf(innerSlot, grown);
            innerOut = Arrays.copyOf(innerOut, grown);
            innerIn = Arrays.copyOf(innerIn, grown);
        }
        innerSlot[at] = u;
        innerOut[at] = out;
        innerIn[at] = in;
        return at + 1;
    }

    /** The traffic cost that window model t adds on device d, given the devices of the earlier window models. */
    private double priceAt(int t, int d) {
        double c = fixed[t * p.m + d];
        for (int k = innerStart[t]; k < innerStart[t + 1]; k++) {
            int du = current[innerSlot[k]];
            c += innerOut[k] * p.dist[d][du] + innerIn[k] * p.dist[du][d];
        }
        return c;
    }

    /** The mismatch term with the window's models added to the fixed loads at the given devices. */
    private double mismatchWithWindow(int[] devices) {
        if (commOnly) {
            return 0;
        }
        double[] comp = loads.compute;
        for (int t = 0; t < size; t++) {
            comp[devices[t]] += p.complexity[window[t]];
        }
        double v = p.complexityMismatch(comp);
        for (int t = 0; t < size; t++) {
            comp[devices[t]] -= p.complexity[window[t]];
        }
        return v;
    }

    private void search(int t, double partial) {
        if (t == size) {
            double value = p.commScale * partial + (commOnly ? 0 : loads.mismatch());
            if (value < bestValue) {
                bestValue = value;
                best = Arrays.copyOf(current, size);
            }
            return;
        }
        int i = window[t];
        for (int d = 0; d < p.m; d++) {
            if (!loads.fitsWith(i, d)) {
                continue;
            }
            double next = partial + priceAt(t, d);
            if (p.commScale * next >= bestValue) {
                continue; // edges cost >= 0 and the mismatch term is a sum of squares: no completion can win
            }
            current[t] = d;
            loads.add(i, d);
            search(t + 1, next);
            loads.remove(i, d);
        }
    }
}
