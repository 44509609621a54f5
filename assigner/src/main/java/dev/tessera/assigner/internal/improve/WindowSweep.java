package dev.tessera.assigner.internal.improve;

import dev.tessera.assigner.internal.SearchState;
import dev.tessera.assigner.internal.graph.Graph;
import java.util.Arrays;

/**
 * Not thread-safe; owns the scratch arrays of its {@link WindowSearch}. Re-optimises windows of consecutive models (in
 * topological order) exactly, sliding with half-window strides, until a full sweep finds nothing better or the sweeps
 * run out. Each window is solved by {@link WindowSearch}.
 */
public final class WindowSweep implements Improver {
    private final Graph g;
    private final int size;
    private final int maxSweeps;
    private final WindowSearch windows;

    /**
     * @param size models per window (the search plan sizes it so a window's enumeration stays near 20,000 leaves)
     * @param maxSweeps full sweeps at most
     */
    public WindowSweep(Graph g, int size, int maxSweeps) {
        this.g = g;
        this.size = size;
        this.maxSweeps = maxSweeps;
        this.windows = new WindowSearch(g.p);
    }

    /** Sweeps s in place and resyncs it. */
    @Override
    public SearchState improve(SearchState s) {
        int n = g.p.n;
        int[] order = g.topologicalOrder();
        boolean improved = true;
        for (int round = 0; improved && round < maxSweeps; round++) {
            improved = false;
            for (int from = 0; from < n; from += Math.max(1, size / 2)) {
                int[] window = Arrays.copyOfRange(order, from, Math.min(n, from + size));
                improved |= windows.optimize(s, window);
            }
        }
        s.resync();
        return s;
    }
}
