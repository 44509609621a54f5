package dev.tessera.assigner.internal.start;

import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.graph.Graph;
import dev.tessera.assigner.internal.graph.Orders;
import dev.tessera.assigner.internal.graph.PipelineCut;
import java.util.ArrayList;
import java.util.List;

/**
 * Stateless and thread-safe; the caller owns the list and its arrays. The starts of the discrete phase, in their
 * fixed order: the hardened relaxation; pipeline fills along the
 * topological order with three amounts of slack; for each of the two topological orders (lowest and highest index
 * first) and the depth-first order, the exact pipeline cut and a beam search; greedy insertion in breadth-first and
 * in largest-first order. Devices are filled most powerful first. A cut or beam that finds nothing is left out.
 */
public final class Starts {
    private static final double[] FILL_SLACKS = {1.0, 1.15, 1.35};

    private Starts() {}

    /**
     * @param relaxed the hardened relaxation
     * @param beamWidth the width of the beam starts, or 0 for none
     */
    public static List<int[]> build(Graph g, int[] relaxed, int beamWidth) {
        List<int[]> starts = new ArrayList<>();
        starts.add(relaxed);
        starts.addAll(classic(g, beamWidth));
        return starts;
    }

    /**
     * The starts without the hardened relaxation, in the same order, for a search that runs beside the gradient phase.
     *
     * @param beamWidth the width of the beam starts, or 0 for none
     */
    public static List<int[]> classic(Graph g, int beamWidth) {
        Problem p = g.p;
        List<int[]> starts = new ArrayList<>();
        int[] topo = g.topologicalOrder();
        int[] deviceOrder = Orders.descending(p.power);
        for (double slack : FILL_SLACKS) {
            starts.add(PipelineFill.place(p, topo, deviceOrder, slack));
        }
        for (int[] order : List.of(topo, Orders.topological(p, false), Orders.depthFirst(p))) {
            addUnlessNull(starts, PipelineCut.of(p, order, deviceOrder));
            addUnlessNull(starts, beamWidth > 0 ? new BeamSearch(p, order).run(beamWidth) : null);
        }
        starts.add(Greedy.place(p, g.bfsOrder(topo.length == 0 ? 0 : topo[0])));
        starts.add(Greedy.place(p, Orders.descending(p.demand)));
        return starts;
    }

    private static void addUnlessNull(List<int[]> starts, int[] start) {
        if (start != null) {
            starts.add(start);
        }
    }
}
