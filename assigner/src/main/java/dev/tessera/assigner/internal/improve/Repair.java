package dev.tessera.assigner.internal.improve;

import dev.tessera.assigner.internal.Loads;
import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.SearchState;

/**
 * Not thread-safe; holds no arrays, and changes the states it is given in place. Makes a placement feasible. While a
 * device breaks its memory or balance limit, the worst one (by relative excess) sheds the model whose move raises the
 * objective least per unit of violation removed; when no single move fits anywhere, a swap with a model elsewhere that
 * shrinks the total violation.
 */
public final class Repair {
    private final Problem p;
    /** Moves and swaps one repair may make before it gives up (a guard: each step lowers the violation). */
    private final int maxSteps;

    public Repair(Problem p, int maxSteps) {
        this.p = p;
        this.maxSteps = maxSteps;
    }

    /** Removes every memory and balance violation from s in place; returns false when it cannot. */
    public boolean repair(SearchState s) {
        int guard = maxSteps;
        while (guard-- > 0) {
            int worst = worstViolated(s.loads);
            if (worst < 0) {
                return true;
            }
            if (!moveOff(s, worst) && !swapOff(s, worst)) {
                return false;
            }
        }
        return s.feasible();
    }

    private int worstViolated(Loads loads) {
        int worst = -1;
        double worstAmount = 0;
        for (int d = 0; d < p.m; d++) {
            double v = loads.relativeExcess(d);
            if (v > worstAmount) {
                worst = d;
                worstAmount = v;
            }
        }
        return worst;
    }

    /** Moves the cheapest model (objective increase per unit of violation removed) off device d. */
    private boolean moveOff(SearchState s, int d) {
        double memOver = s.loads.memoryViolation(d);
        double compOver = s.loads.balanceViolation(d);
        int bestI = -1;
        int bestB = -1;
        double bestScore = Double.POSITIVE_INFINITY;
        for (int i = 0; i < p.n; i++) {
            double relief = s.a[i] != d ? 0 : relief(p.demand[i], memOver) + relief(p.complexity[i], compOver);
            if (relief <= 0) {
                continue;
            }
            s.gather(i);
            double here = s.commCost(d);
            for (int b = 0; b < p.m; b++) {
                if (b != d && s.fits(i, b)) {
                    double score = (s.moveDelta(i, b, here) + 1) / relief;
                    if (score < bestScore) {
                        bestScore = score;
                        bestI = i;
                        bestB = b;
                    }
                }
            }
        }
        if (bestI < 0) {
            return false;
        }
        s.place(bestI, bestB);
        return true;
    }

    private static double relief(double amount, double over) {
        return over <= 0 ? 0 : Math.min(amount, over) / over;
    }

    /** Swaps a model on violated device d with one elsewhere, when that shrinks the total violation. */
    private boolean swapOff(SearchState s, int d) {
        double bestAfter = s.loads.totalExcess();
        int bestI = -1;
        int bestJ = -1;
        for (int i = 0; i < p.n; i++) {
            if (s.a[i] != d) {
                continue;
            }
            for (int j = 0; j < p.n; j++) {
                double after = violationAfterSwap(s, i, j, d);
                if (after < bestAfter - 1e-9) {
                    bestAfter = after;
                    bestI = i;
                    bestJ = j;
                }
            }
        }
        if (bestI < 0) {
            return false;
        }
        int b = s.a[bestJ];
        s.place(bestI, b);
        s.place(bestJ, d);
        return true;
    }

    /**
     * The total violation after i (on d) and j trade places, or infinity when they may not or j's device would break
     * a limit; s is left as it was.
     */
    private double violationAfterSwap(SearchState s, int i, int j, int d) {
        int b = s.a[j];
        if (b == d || !p.allowed(i, b) || !p.allowed(j, d)) {
            return Double.POSITIVE_INFINITY;
        }
        s.place(i, b);
        s.place(j, d);
        boolean ok = !s.loads.violated(b);
        double after = s.loads.totalExcess();
        s.place(j, b);
        s.place(i, d);
        return ok ? after : Double.POSITIVE_INFINITY;
    }
}
