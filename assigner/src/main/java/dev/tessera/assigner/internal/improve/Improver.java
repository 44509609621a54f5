package dev.tessera.assigner.internal.improve;

import dev.tessera.assigner.internal.SearchState;

/**
 * Implementations are not thread-safe (they may keep scratch arrays and share the run's random generator) and own
 * no state they return: one improvement policy of the discrete phase, in the manner of Caffeine's simulator
 * {@code HillClimber}.
 */
@FunctionalInterface
public interface Improver {
    /** The improver that leaves every state as it is. */
    Improver NONE = s -> s;

    /**
     * Improves a feasible state. Returns s itself (possibly changed in place) or another state that is feasible and
     * whose objective is no worse; the caller owns the result.
     */
    SearchState improve(SearchState s);
}
