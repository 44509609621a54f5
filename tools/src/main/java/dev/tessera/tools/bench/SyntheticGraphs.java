package dev.tessera.tools.bench;

import dev.tessera.assigner.DeviceSpec;
import dev.tessera.tools.assign.GraphSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The benchmarks' synthetic placement graphs, as graph files would hold them (so that {@code bench assign} places
 * the same graphs in process that {@code bench cli} hands to the command line). Stateless and thread-safe.
 */
final class SyntheticGraphs {
    private SyntheticGraphs() {}

    /** {@link SyntheticGraph#of}, the layer graph {@code bench assign} places, as a graph file holds it. */
    static GraphSpec layers(int n, int m, long seed) {
        SyntheticGraph g = SyntheticGraph.of(n, m, seed);
        List<GraphSpec.Model> models = new ArrayList<>();
        for (int i = 0; i < g.n(); i++) {
            models.add(new GraphSpec.Model("m" + i, g.sizes()[i], null));
        }
        List<GraphSpec.Connection> connections = new ArrayList<>();
        for (int e = 0; e < g.from().length; e++) {
            connections.add(new GraphSpec.Connection("m" + g.from()[e], "m" + g.to()[e], g.volume()[e]));
        }
        return new GraphSpec(models, connections, g.devices(), null,
                Map.of("cpuWeight", SyntheticGraph.CPU_WEIGHT, "seed", seed));
    }

    /** The smallest useful graph: an encoder feeding a decoder, 300 MB each, on two 1 GB GPUs and a CPU. */
    static GraphSpec twoModels() {
        return new GraphSpec(
                List.of(new GraphSpec.Model("encoder", 300, 2.0), new GraphSpec.Model("decoder", 300, null)),
                List.of(new GraphSpec.Connection("encoder", "decoder", 1)),
                List.of(DeviceSpec.gpu(0, 1000), DeviceSpec.gpu(1, 1000), DeviceSpec.cpu(4000)), null, Map.of());
    }
}
