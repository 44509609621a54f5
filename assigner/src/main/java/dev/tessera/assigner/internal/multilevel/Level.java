package dev.tessera.assigner.internal.multilevel;

import dev.tessera.assigner.internal.Problem;

/**
 * Immutable after construction (callers must not write its arrays), so safe to share: one step of coarsening, a
 * coarse problem and the coarse model that each model of the finer problem became.
 *
 * @param coarse the coarser problem: same devices and limits, merged models, merged edges
 * @param map for each model of the finer problem, its model in {@code coarse}
 */
public record Level(Problem coarse, int[] map) {
    /** The finer placement that puts every model where its coarse model sits in {@code coarsePlacement}. */
    public int[] project(int[] coarsePlacement) {
        int[] fine = new int[map.length];
        for (int i = 0; i < map.length; i++) {
            fine[i] = coarsePlacement[map[i]];
        }
        return fine;
    }
}
