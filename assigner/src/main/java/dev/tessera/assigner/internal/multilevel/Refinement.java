package dev.tessera.assigner.internal.multilevel;

import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.SearchState;
import dev.tessera.assigner.internal.graph.Graph;
import dev.tessera.assigner.internal.improve.Descent;
import dev.tessera.assigner.internal.improve.Improver;
import dev.tessera.assigner.internal.improve.IteratedLocalSearch;
import dev.tessera.assigner.internal.improve.Repair;
import java.util.SplittableRandom;

/**
 * Not thread-safe (it draws from the run's generator); the caller owns the placement returned. Refinement of one level
 * while uncoarsening: the projected placement descends to a local optimum of Fiduccia–Mattheyses moves and
 * Kernighan–Lin swaps ({@link Descent}, each priced by the exact objective and taken only when it keeps every device
 * within its limits), then gets a few kicks of {@link IteratedLocalSearch} from there, which keeps a result only when
 * it is feasible and no worse. So refinement never breaks a limit and never raises the objective.
 *
 * <p>Kicks per level: searchEffort × clamp(60,000 / (n + E), {@value #MIN_KICKS}, {@value #MAX_KICKS}); a kick costs
 * O(n) for the copy plus a local descent, so the finest levels of a large graph get the fewest.
 */
final class Refinement {
    static final int MIN_KICKS = 4;
    static final int MAX_KICKS = 200;

    private final Problem p;
    private final Graph g;
    private final Descent descent;
    private final IteratedLocalSearch iterated;
    private final int kicks;

    Refinement(Problem p, double searchEffort, SplittableRandom rng) {
        this.p = p;
        this.g = new Graph(p);
        this.descent = new Descent(g, rng, 50L * p.n + 1000);
        this.iterated = new IteratedLocalSearch(g, rng, new Repair(p, 4 * p.n * p.m + 16), descent, Improver.NONE);
        double bySize = Math.max(MIN_KICKS, Math.min(MAX_KICKS, 60_000.0 / (p.n + p.edgeFrom.length)));
        this.kicks = (int) Math.round(searchEffort * bySize);
    }

    /** The refined placement of a feasible projected one. */
    int[] refine(int[] projected) {
        SearchState s = descent.improve(new SearchState(p, projected));
        return iterated.iterate(s, kicks).a.clone();
    }
}
