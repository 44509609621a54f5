package dev.tessera.assigner.internal.start;

import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.SearchState;

/**
 * Stateless and thread-safe; the caller owns the placement returned. Fills devices one after another along an order (a
 * pipeline cut without look-ahead): each device takes models until its memory, or {@code slack} times its fair share of
 * complexity, is reached. Devices with no power only take models of zero complexity that fit nowhere else.
 */
public final class PipelineFill {
    private PipelineFill() {}

    public static int[] place(Problem p, int[] order, int[] deviceOrder, double slack) {
        SearchState s = new SearchState(p);
        int di = 0;
        for (int i : order) {
            while (di < deviceOrder.length - 1 && !fits(s, i, deviceOrder[di], slack)) {
                di++;
            }
            int d = deviceOrder[di];
            s.place(i, s.fits(i, d) ? d : Greedy.leastOverfilled(s, i));
        }
        return s.a.clone();
    }

    private static boolean fits(SearchState s, int i, int d, double slack) {
        Problem p = s.p;
        if (!s.fits(i, d)) {
            return false;
        }
        double target = slack * p.powerShare[d] * p.totalComplexity;
        double here = s.loads.compute[d];
        return p.complexity[i] == 0 || here == 0 || here + p.complexity[i] <= target;
    }
}
