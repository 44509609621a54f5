package dev.tessera.assigner.internal.multilevel;

import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.ProgressSink;
import dev.tessera.assigner.internal.search.DiscreteSearch;
import dev.tessera.assigner.internal.search.SearchPlan;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * Not thread-safe, one instance per run; the caller owns the placement returned. The multilevel discrete phase, in the
 * manner of METIS and KaHIP: {@link Coarsening coarsen} the problem by heavy-edge matching under the limits down to
 * the plan's {@link SearchPlan#coarsestModels() coarsest size}, place the coarsest problem with the existing machinery
 * (the relaxation the caller supplies, then {@link DiscreteSearch} under that problem's own plan), then project the
 * placement back level by level and {@link Refinement refine} it on each with moves priced by the exact objective.
 * A projected placement has the objective and the loads of the coarse one, so it is feasible, and refinement never
 * breaks a limit. Merged models may pack worse than their parts, so when the coarsest search finds no feasible
 * placement, the next finer level is searched instead, down to the problem itself. One seeded
 * generator drives the matching and the refinement, so the seed fixes the answer.
 */
public final class MultilevelSearch {
    private final Problem p;
    private final double searchEffort;
    private final int relaxIterations;
    private final long seed;
    private final int coarsestModels;

    /**
     * @param searchEffort the {@code searchEffort} option, for the plans of the coarsest problem and of refinement
     * @param relaxIterations gradient steps of the relaxation on the coarsest problem
     * @param coarsestModels the size to coarsen to ({@link SearchPlan#coarsestModels()}; tests pass smaller ones)
     */
    public MultilevelSearch(Problem p, double searchEffort, int relaxIterations, long seed, int coarsestModels) {
        this.p = p;
        this.searchEffort = searchEffort;
        this.relaxIterations = relaxIterations;
        this.seed = seed;
        this.coarsestModels = coarsestModels;
    }

    /**
     * The refined placement, or null when no level, the problem itself included, gave the search a feasible placement.
     *
     * @param relax the hardened relaxation of a problem (it is given the coarsest one)
     * @param progress reports the coarsest search's starts, then one step per level refined
     */
    public int[] solve(Function<Problem, int[]> relax, ProgressSink progress) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<Level> levels = new ArrayList<>(Coarsening.hierarchy(p, coarsestModels, rng));
        long[] searched = {0};
        int[] a = null;
        while (a == null) {
            Problem coarsest = levels.isEmpty() ? p : levels.get(levels.size() - 1).coarse();
            int steps = levels.size();
            a = new DiscreteSearch(coarsest, SearchPlan.coarsest(coarsest, searchEffort, relaxIterations), seed)
                    .solve(relax.apply(coarsest), (done, total) -> {
                        searched[0] = total;
                        progress.report(done, total + steps);
                    });
            if (a == null && levels.isEmpty()) {
                return null;
            }
            if (a == null) {
                // merged models can pack worse than their parts: search the next finer level instead
                levels.remove(levels.size() - 1);
            }
        }
        for (int k = levels.size() - 1; k >= 0; k--) {
            Problem finer = k == 0 ? p : levels.get(k - 1).coarse();
            a = new Refinement(finer, searchEffort, rng).refine(levels.get(k).project(a));
            progress.report(searched[0] + levels.size() - k, searched[0] + levels.size());
        }
        return a;
    }
}
