package dev.tessera.tools.bench;

import dev.tessera.assigner.Device;
import dev.tessera.tools.assign.GraphSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The benchmarks' synthetic placement graphs, as graph files would hold them (so that {@code bench assign} places
 * the same graphs in process that {@code bench cli} hands to the command line). Stateless and thread-safe.
 */
final class SyntheticGraphs {
    private SyntheticGraphs() {}

    /**
     * A sparse random layer graph: a chain (each model feeds the next) plus 2n random forward edges to models up
     * to 50 positions ahead; sizes 10..100 MB, complexity = demand; m-1 GPUs and a CPU (cpuWeight 0.1), with
     * memory for 1.3 × the total demand spread over the GPUs.
     */
    static GraphSpec layers(int n, int m, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<GraphSpec.Model> models = new ArrayList<>();
        double total = 0;
        for (int i = 0; i < n; i++) {
            double size = 10 + rng.nextInt(91);
            total += size;
            models.add(new GraphSpec.Model("m" + i, size, null));
        }
        List<GraphSpec.Connection> connections = new ArrayList<>();
        for (int i = 0; i + 1 < n; i++) {
            connections.add(new GraphSpec.Connection("m" + i, "m" + (i + 1), 1 + rng.nextInt(100)));
        }
        for (int k = 0; k < 2 * n; k++) {
            int i = rng.nextInt(n - 1);
            int j = Math.min(n - 1, i + 1 + rng.nextInt(50));
            connections.add(new GraphSpec.Connection("m" + i, "m" + j, 1 + rng.nextInt(100)));
        }
        List<Device> devices = new ArrayList<>();
        double demand = total * 2;
        for (int d = 0; d < m - 1; d++) {
            devices.add(Device.gpu(d, 1.3 * demand / (m - 1) / 0.5));
        }
        devices.add(Device.cpu(demand));
        return new GraphSpec(models, connections, devices, null, Map.of("cpuWeight", 0.1, "seed", seed));
    }

    /** The smallest useful graph: an encoder feeding a decoder, 300 MB each, on two 1 GB GPUs and a CPU. */
    static GraphSpec twoModels() {
        return new GraphSpec(
                List.of(new GraphSpec.Model("encoder", 300, 2.0), new GraphSpec.Model("decoder", 300, null)),
                List.of(new GraphSpec.Connection("encoder", "decoder", 1)),
                List.of(Device.gpu(0, 1000), Device.gpu(1, 1000), Device.cpu(4000)), null, Map.of());
    }
}
