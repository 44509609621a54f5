package dev.tessera.assigner.internal.search;

import dev.tessera.assigner.internal.Problem;

/**
 * Stateless and thread-safe; the caller owns the placement returned. The exact answer for problems small enough to
 * enumerate: every placement of the n models on the m devices (m^n of them, at most {@value #MAX_PLACEMENTS}) is
 * visited depth first, a branch is cut as soon as a device is over its memory (or balance) limit, and each complete
 * placement is priced with the exact objective. The least objective wins, the first one in enumeration order on a
 * tie, so the answer is proven optimal and deterministic. Placement runs take this path instead of the relaxation
 * and the search when it applies, which also spares them loading DJL.
 */
public final class ExhaustiveSearch {
    /** The most placements (m^n) enumerated; above it the relaxation and the search run instead. */
    public static final long MAX_PLACEMENTS = 1_000_000;

    private final Problem p;
    private final int[] a;
    private final double[] load;
    private final double[] comp;
    private int[] best;
    private double bestObjective = Double.POSITIVE_INFINITY;

    private ExhaustiveSearch(Problem p) {
        this.p = p;
        this.a = new int[p.n];
        this.load = new double[p.m];
        this.comp = new double[p.m];
    }

    /** m^n, or {@link Long#MAX_VALUE} when it exceeds {@value #MAX_PLACEMENTS}. */
    public static long placements(Problem p) {
        long count = 1;
        for (int i = 0; i < p.n; i++) {
            count *= p.m;
            if (count > MAX_PLACEMENTS) {
                return Long.MAX_VALUE;
            }
        }
        return count;
    }

    /** Whether {@code p} is small enough to enumerate (at most {@value #MAX_PLACEMENTS} placements). */
    public static boolean applies(Problem p) {
        return placements(p) <= MAX_PLACEMENTS;
    }

    /**
     * The feasible placement of least objective, or null when none meets every limit.
     *
     * @throws IllegalArgumentException when the problem has more than {@value #MAX_PLACEMENTS} placements
     */
    public static int[] solve(Problem p) {
        if (!applies(p)) {
            throw new IllegalArgumentException("exhaustive search of " + p.n + " models on " + p.m + " devices: more than "
                    + MAX_PLACEMENTS + " placements (expected m^n <= " + MAX_PLACEMENTS + ")");
        }
        ExhaustiveSearch s = new ExhaustiveSearch(p);
        s.place(0);
        return s.best;
    }

    private void place(int i) {
        if (i == p.n) {
            double objective = p.objective(a);
            if (objective < bestObjective) {
                bestObjective = objective;
                best = a.clone();
            }
            return;
        }
        for (int d = 0; d < p.m; d++) {
            load[d] += p.demand[i];
            comp[d] += p.complexity[i];
            if (p.withinLimits(d, load[d], comp[d])) {
                a[i] = d;
                place(i + 1);
            }
            load[d] -= p.demand[i];
            comp[d] -= p.complexity[i];
        }
    }
}
