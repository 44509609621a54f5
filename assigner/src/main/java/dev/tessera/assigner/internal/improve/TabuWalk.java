package dev.tessera.assigner.internal.improve;

import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.SearchState;

/**
 * Not thread-safe: the walk's tables are reused across calls, and the returned state belongs to the caller. A
 * {@link TabuSearch} walk of a fixed number of iterations from a state, kept (after a descent) only when it ends
 * better.
 */
public final class TabuWalk implements Improver {
    private final TabuSearch tabu;
    private final Descent descent;
    private final long iterations;

    public TabuWalk(TabuSearch tabu, Descent descent, long iterations) {
        this.tabu = tabu;
        this.descent = descent;
        this.iterations = iterations;
    }

    /** The walk's result, descended, when it beats s; else s. */
    @Override
    public SearchState improve(SearchState s) {
        Problem p = s.p;
        int[] walked = tabu.run(s.a, iterations);
        if (walked == null || p.objective(walked) >= s.objective() - Problem.IMPROVEMENT) {
            return s;
        }
        return descent.improve(new SearchState(p, walked));
    }
}
