package dev.tessera.assigner.internal.improve;

import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.SearchState;
import dev.tessera.assigner.internal.graph.Graph;
import dev.tessera.assigner.internal.start.BeamSearch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Not thread-safe; each recreation builds its own beam, and the returned state belongs to the caller. Ruin and
 * recreate: frees a stretch of the topological order (a third, a half or two thirds of it, at
 * {@value #OFFSETS} + 1 evenly spaced offsets) and re-places it by beam search with every other model fixed,
 * keeping the result (descended) when it is better; sweeps again while a sweep finds something, up to a given number
 * of sweeps. This is the move that memory-tight layer graphs need and single moves cannot make: several devices trade
 * whole runs of layers at once.
 */
public final class RuinRecreate implements Improver {
    /** Offsets per stretch length: the stretches start at 0, 1/12, ..., 12/12 of the room left. */
    public static final int OFFSETS = 12;
    /** Stretch lengths tried (a third, a half, two thirds of the order). */
    public static final int LENGTHS = 3;

    private final Graph g;
    private final Descent descent;
    private final int width;
    private final int maxSweeps;

    /**
     * @param width the beam width of each recreation (the search plan spends a fixed number of expansions per sweep)
     * @param maxSweeps sweeps over all stretches at most
     */
    public RuinRecreate(Graph g, Descent descent, int width, int maxSweeps) {
        this.g = g;
        this.descent = descent;
        this.width = width;
        this.maxSweeps = maxSweeps;
    }

    @Override
    public SearchState improve(SearchState s) {
        Problem p = g.p;
        int[] order = g.topologicalOrder();
        List<int[]> ranges = ranges(p.n);
        boolean improved = true;
        for (int round = 0; improved && round < maxSweeps; round++) {
            improved = false;
            for (int[] range : ranges) {
                int[] placed = new BeamSearch(p, Arrays.copyOfRange(order, range[0], range[1]), s.a).run(width);
                if (placed != null && p.objective(placed) < s.objective() - Problem.IMPROVEMENT) {
                    s = descent.improve(new SearchState(p, placed));
                    improved = true;
                }
            }
        }
        return s;
    }

    /** [from, to) stretches of an order of n models, {@value #LENGTHS} × ({@value #OFFSETS} + 1) of them. */
    static List<int[]> ranges(int n) {
        List<int[]> ranges = new ArrayList<>();
        for (int len : new int[] {n / 3, n / 2, 2 * n / 3}) {
            for (int k = 0; k <= OFFSETS; k++) {
                int lo = (int) ((long) (n - len) * k / OFFSETS);
                ranges.add(new int[] {lo, lo + len});
            }
        }
        return ranges;
    }
}
