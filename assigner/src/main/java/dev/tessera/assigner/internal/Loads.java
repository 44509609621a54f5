package dev.tessera.assigner.internal;

import java.util.Arrays;

/**
 * Not thread-safe; owns its two arrays, which callers may read (and the beam search writes) directly: the per-device
 * memory and complexity loads of one (partial) assignment, with the limit checks on them.
 *
 * <p>This is the one place loads are kept: the search state, the tabu walk, the exact windows and every partial
 * placement of a beam hold a {@code Loads}. Adding and removing a model are single additions, so a model that
 * leaves and returns restores the loads only up to rounding; {@link SearchState#resync()} recomputes them.
 */
public final class Loads {
    private final Problem p;
    /** Memory on each device, MB. */
    public final double[] memory;
    /** Complexity on each device. */
    public final double[] compute;

    public Loads(Problem p) {
        this.p = p;
        this.memory = new double[p.m];
        this.compute = new double[p.m];
    }

    private Loads(Loads o) {
        this.p = o.p;
        this.memory = o.memory.clone();
        this.compute = o.compute.clone();
    }

    public Loads copy() {
        return new Loads(this);
    }

    public void copyFrom(Loads o) {
        System.arraycopy(o.memory, 0, memory, 0, memory.length);
        System.arraycopy(o.compute, 0, compute, 0, compute.length);
    }

    public void clear() {
        Arrays.fill(memory, 0);
        Arrays.fill(compute, 0);
    }

    /** Adds model i's demand and complexity to device d. */
    public void add(int i, int d) {
        memory[d] += p.demand[i];
        compute[d] += p.complexity[i];
    }

    /** Takes model i's demand and complexity off device d. */
    public void remove(int i, int d) {
        memory[d] -= p.demand[i];
        compute[d] -= p.complexity[i];
    }

    /** Whether device d stays within its limits with model i added to it. */
    public boolean fitsWith(int i, int d) {
        return p.withinLimits(d, memory[d] + p.demand[i], compute[d] + p.complexity[i]);
    }

    /** Whether devices a and b both stay within their limits when model i (on a) and model j (on b) trade places. */
    public boolean fitsExchange(int i, int a, int j, int b) {
        return p.withinLimits(a, memory[a] - p.demand[i] + p.demand[j],
                        compute[a] - p.complexity[i] + p.complexity[j])
                && p.withinLimits(b, memory[b] - p.demand[j] + p.demand[i],
                        compute[b] - p.complexity[j] + p.complexity[i]);
    }

    /** MB above device d's memory limit (with its tolerance), or 0. */
    public double memoryViolation(int d) {
        return Math.max(0, memory[d] - p.capacity[d] - Problem.tolerance(p.capacity[d]));
    }

    /** Complexity above device d's balance limit (with its tolerance), or 0; always 0 without balance. */
    public double balanceViolation(int d) {
        double[] lim = p.complexityLimit;
        return lim == null ? 0 : Math.max(0, compute[d] - lim[d] - Problem.tolerance(lim[d]));
    }

    public boolean violated(int d) {
        return memoryViolation(d) > 0 || balanceViolation(d) > 0;
    }

    public boolean feasible() {
        for (int d = 0; d < p.m; d++) {
            if (violated(d)) {
                return false;
            }
        }
        return true;
    }

    /** {@link Problem#relativeExcess} of device d at these loads. */
    public double relativeExcess(int d) {
        return p.relativeExcess(d, memory[d], compute[d]);
    }

    /** Σ_d {@link #relativeExcess(int)}. */
    public double totalExcess() {
        double v = 0;
        for (int d = 0; d < p.m; d++) {
            v += relativeExcess(d);
        }
        return v;
    }

    /** The complexity-mismatch term at these loads. */
    public double mismatch() {
        return p.complexityMismatch(compute);
    }

    /** Change of the mismatch term if complexity c moves from device from (or -1) to device to (or -1). */
    public double mismatchDelta(double c, int from, int to) {
        return p.mismatchDelta(compute, c, from, to);
    }
}
