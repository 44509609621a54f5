package dev.tessera.assigner.internal.improve;

import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.SearchState;
import dev.tessera.assigner.internal.graph.Graph;
import java.util.SplittableRandom;

/**
 * Not thread-safe (it shares the run's generator); the state it returns belongs to the caller. Iterated local search:
 * from the current solution, {@link Kicks kick}, repair, descend from the kicked models (and sweep windows when that
 * beats the best), and keep the result when it is no worse than the current one (sideways moves let the search cross
 * plateaus). The number of kicks is given per call by the search plan, never by the clock.
 */
public final class IteratedLocalSearch {
    private final Repair repair;
    private final Descent descent;
    private final Improver windows;
    private final Kicks kicks;

    public IteratedLocalSearch(Graph g, SplittableRandom rng, Repair repair, Descent descent, Improver windows) {
        this.repair = repair;
        this.descent = descent;
        this.windows = windows;
        this.kicks = new Kicks(g, rng);
    }

    /** The improver that runs {@code count} kicks. */
    public Improver withKicks(int count) {
        return s -> iterate(s, count);
    }

    /** The best state seen in {@code count} kicks from start (start itself when none beat it). */
    public SearchState iterate(SearchState start, int count) {
        SearchState best = start;
        SearchState current = start.copy();
        SearchState trial = start.copy();
        for (int k = 0; k < count; k++) {
            trial.copyFrom(current);
            int[] kicked = kicks.kick(trial);
            if (!repair.repair(trial)) {
                continue;
            }
            descent.descend(trial, kicked);
            if (trial.objective() < best.objective() - Problem.IMPROVEMENT) {
                windows.improve(trial);
            }
            if (trial.objective() <= current.objective() + Problem.IMPROVEMENT) {
                SearchState t = current;
                current = trial;
                trial = t;
                if (current.objective() < best.objective() - Problem.IMPROVEMENT) {
                    best = current.copy();
                }
            }
        }
        return best;
    }
}
