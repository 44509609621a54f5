package dev.tessera.assigner.internal.multilevel;

import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.ProgressSink;
import dev.tessera.assigner.internal.search.DiscreteSearch;
import dev.tessera.assigner.internal.search.SearchPlan;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
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
 *
 * <p>The relaxation runs on its own thread while the other starts of the coarsest search are built and searched
 * ({@link DiscreteSearch#solveBeside}); its hardened placement is searched as the last start, and the best start wins.
 * On two cores the gradient phase then costs little wall time, and on a cold JVM DJL's engine loads while the search
 * runs. The search waits for the relaxation before it picks its finalists, so the answer does not depend on timing.
 */
public final class MultilevelSearch {
    private final Problem p;
    private final double searchEffort;
    private final int relaxIterations;
    private final long seed;
    private final int coarsestModels;
    private int relaxedRank;

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
            DiscreteSearch search = new DiscreteSearch(coarsest,
                    SearchPlan.coarsest(coarsest, searchEffort, relaxIterations), seed);
            CompletableFuture<int[]> relaxed = inBackground(relax, coarsest);
            try {
                a = search.solveBeside(relaxed, (done, total) -> {
                    searched[0] = total;
                    progress.report(done, total + steps);
                });
            } finally {
                awaitQuietly(relaxed); // never leave the gradient phase running past the run
            }
            relaxedRank = search.relaxedRank();
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

    /**
     * After {@link #solve}: the rank (1 = best) of the relaxation's start among the coarsest search's starts after
     * their own search, or 0 when repair could not make it feasible.
     */
    public int relaxedRank() {
        return relaxedRank;
    }

    /** Runs the relaxation of q on a new daemon thread. */
    private static CompletableFuture<int[]> inBackground(Function<Problem, int[]> relax, Problem q) {
        CompletableFuture<int[]> result = new CompletableFuture<>();
        Thread.ofPlatform().name("tessera-gradient-phase").daemon().start(() -> {
            try {
                result.complete(relax.apply(q));
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    private static void awaitQuietly(CompletableFuture<int[]> relaxed) {
        try {
            relaxed.join();
        } catch (RuntimeException e) {
            // the search has already rethrown it, or is failing for its own reason
        }
    }
}
