package dev.tessera.assigner.internal.search;

import dev.tessera.assigner.internal.improve.Improver;

/**
 * Immutable constants, holding no state: the phases a search plan orders, each a factory of its {@link Improver} over
 * one run's {@link Toolkit}. A phase whose budget is 0 in the plan (no windows, no tabu walk, no recreation) is {@link
 * Improver#NONE}.
 */
public enum Phase {
    /** Moves and swaps to a local optimum. */
    DESCENT {
        @Override
        Improver create(Toolkit t, int kicks) {
            return t.descent;
        }
    },
    /** Exact windows of consecutive layers. */
    WINDOWS {
        @Override
        Improver create(Toolkit t, int kicks) {
            return t.windows;
        }
    },
    /** Iterated local search with the given number of kicks. */
    KICKS {
        @Override
        Improver create(Toolkit t, int kicks) {
            return t.iterated.withKicks(kicks);
        }
    },
    /** A tabu walk that may cross infeasible placements. */
    TABU {
        @Override
        Improver create(Toolkit t, int kicks) {
            return t.tabu;
        }
    },
    /** Ruin and recreate of stretches of the order. */
    RECREATE {
        @Override
        Improver create(Toolkit t, int kicks) {
            return t.recreate;
        }
    };

    /** The improver of this phase; {@code kicks} is used by {@link #KICKS} only. */
    abstract Improver create(Toolkit t, int kicks);
}
