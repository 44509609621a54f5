package dev.tessera.assigner.internal.search;

import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.ProgressSink;
import dev.tessera.assigner.internal.SearchState;
import dev.tessera.assigner.internal.graph.Graph;
import dev.tessera.assigner.internal.start.Starts;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

/**
 * Not thread-safe, one instance per run; it owns its improvers' scratch, and the caller owns the placement returned.
 * The discrete phase: builds the {@link Starts}, repairs them, runs each through the plan's start phases, and the
 * best {@link SearchPlan#finalists()} through its rounds and finish; returns the best feasible placement. Its one
 * seeded generator makes the result a function of the seed.
 */
public final class DiscreteSearch {
    private final Problem p;
    private final Graph g;
    private final SearchPlan plan;
    private final Toolkit tools;
    private int relaxedRank;

    public DiscreteSearch(Problem p, SearchPlan plan, long seed) {
        this.p = p;
        this.g = new Graph(p);
        this.plan = plan;
        this.tools = new Toolkit(g, plan, new SplittableRandom(seed));
    }

    /**
     * The best feasible placement found from the hardened relaxation and the other starts, or null when no start
     * could be made feasible. Progress is reported in starts (plus one per finalist).
     */
    public int[] solve(int[] relaxed, ProgressSink progress) {
        return search(Starts.build(g, relaxed, plan.beamWidth()), progress);
    }

    /**
     * {@link #solve} while the gradient phase still runs on another thread: the other starts are built, repaired and
     * searched first, then this waits for the hardened relaxation and searches it as the last start (always, even
     * where only the best few repaired starts are searched). The order is fixed, so the answer is a function of the
     * seed whatever the threads' timing. {@link #relaxedRank()} then tells how the relaxation's start did.
     *
     * @param relaxed completes with the hardened relaxation, or exceptionally with the gradient phase's error, which
     *     this rethrows
     */
    public int[] solveBeside(CompletableFuture<int[]> relaxed, ProgressSink progress) {
        return search(Starts.classic(g, plan.beamWidth()), () -> join(relaxed), progress);
    }

    /**
     * After {@link #solveBeside}: the rank (1 = best) of the relaxation's start among the searched starts by objective
     * after their own search, or 0 when repair could not make it feasible.
     */
    public int relaxedRank() {
        return relaxedRank;
    }

    /** {@link #solve} from the given starts (each a device per model; they may break limits). */
    int[] search(List<int[]> starts, ProgressSink progress) {
        return search(starts, null, progress);
    }

    private int[] search(List<int[]> starts, Supplier<int[]> late, ProgressSink progress) {
        Progress counter = new Progress(progress, starts.size() + (late == null ? 0 : 1) + plan.finalists());
        List<SearchState> repaired = repaired(starts, counter);
        List<SearchState> pool = new ArrayList<>();
        for (SearchState s : repaired) {
            pool.add(run(s, plan.startPhases(), plan.startKicks()));
            counter.advance(1);
        }
        SearchState fromRelaxation = late == null ? null : searchedLate(late.get(), repaired);
        if (late != null) {
            counter.advance(1);
        }
        if (fromRelaxation != null) {
            pool.add(fromRelaxation);
        }
        if (pool.isEmpty()) {
            return null;
        }
        pool.sort(Comparator.comparingDouble(SearchState::objective));
        relaxedRank = fromRelaxation == null ? 0 : pool.indexOf(fromRelaxation) + 1;
        SearchState best = pool.get(0);
        int finalists = Math.min(plan.finalists(), pool.size());
        int kicks = plan.roundKicks(repaired.size(), finalists);
        for (int k = 0; k < finalists; k++) {
            SearchState s = pool.get(k);
            for (int round = 0; round < plan.rounds(); round++) {
                s = run(s, plan.roundPhases(), kicks);
            }
            s = run(s, plan.finishPhases(), kicks);
            if (s.objective() < best.objective() - Problem.IMPROVEMENT) {
                best = s;
            }
            counter.advance(1);
        }
        return best.a.clone();
    }

    /** The late start repaired and searched like the others (and counted among the repaired), or null. */
    private SearchState searchedLate(int[] start, List<SearchState> repaired) {
        SearchState s = new SearchState(p, start);
        if (!tools.repair.repair(s)) {
            return null;
        }
        repaired.add(s);
        return run(s, plan.startPhases(), plan.startKicks());
    }

    private static int[] join(CompletableFuture<int[]> relaxed) {
        try {
            return relaxed.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }

    /** The starts that repair makes feasible, at most the plan's number of searched starts (the best of them). */
    private List<SearchState> repaired(List<int[]> starts, Progress counter) {
        List<SearchState> repaired = new ArrayList<>();
        for (int[] start : starts) {
            SearchState s = new SearchState(p, start);
            if (tools.repair.repair(s)) {
                repaired.add(s);
            } else {
                counter.advance(1);
            }
        }
        if (repaired.size() > plan.searchedStarts()) {
            // a full descent costs seconds at this size: only the most promising repaired starts get one
            repaired.sort(Comparator.comparingDouble(SearchState::objective));
            counter.advance(repaired.size() - plan.searchedStarts());
            repaired = new ArrayList<>(repaired.subList(0, plan.searchedStarts()));
        }
        return repaired;
    }

    private SearchState run(SearchState s, List<Phase> phases, int kicks) {
        for (Phase phase : phases) {
            s = phase.create(tools, kicks).improve(s);
        }
        return s;
    }

    /** Counts finished starts and reports them. */
    private static final class Progress {
        private final ProgressSink sink;
        private final long total;
        private long done;

        Progress(ProgressSink sink, long total) {
            this.sink = sink;
            this.total = total;
        }

        void advance(int count) {
            done += count;
            sink.report(done, total);
        }
    }
}
