package dev.tessera.tools.bench;

import dev.tessera.assigner.DeviceSpec;
import dev.tessera.assigner.ModelAssigner;
import dev.tessera.assigner.ModelSizeEstimator;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Immutable after construction (callers must not write its arrays), so safe to share: the benchmark's sparse random
 * layer graph, kept as plain arrays so that it can be handed to other mappers (METIS, Scotch) and their answers scored
 * with Tessera's objective and limits ({@link #score}). A chain (each model feeds the next) plus 2n random forward
 * edges to models up to 50 positions ahead; sizes 10..100 MB, complexity = demand; m-1 GPUs and a CPU (cpuWeight
 * 0.1), with memory for 1.3 × the total demand spread over the GPUs. Every other option is the assigner's default.
 *
 * @param sizes each model's size in MB (integers)
 * @param from each edge's source model
 * @param to each edge's target model
 * @param volume each edge's volume (integers)
 */
record SyntheticGraph(double[] sizes, int[] from, int[] to, double[] volume, List<DeviceSpec> devices, long seed) {
    static final double CPU_WEIGHT = 0.1;
    /** The assigner's defaults that the scorer must repeat. */
    private static final double MAX_MEM_RATIO = 0.5;
    private static final double CONNECTION_WEIGHT = 2;
    private static final double COMPLEXITY_MATCH_WEIGHT = 1;
    private static final double GPU_GPU = 1;
    private static final double CPU_GPU = 10;

    static SyntheticGraph of(int n, int m, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[] sizes = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            sizes[i] = 10 + rng.nextInt(91);
            total += sizes[i];
        }
        int edges = n - 1 + 2 * n;
        int[] from = new int[edges];
        int[] to = new int[edges];
        double[] volume = new double[edges];
        int e = 0;
        for (int i = 0; i + 1 < n; i++, e++) {
            from[e] = i;
            to[e] = i + 1;
            volume[e] = 1 + rng.nextInt(100);
        }
        for (int k = 0; k < 2 * n; k++, e++) {
            int i = rng.nextInt(n - 1);
            from[e] = i;
            to[e] = Math.min(n - 1, i + 1 + rng.nextInt(50));
            volume[e] = 1 + rng.nextInt(100);
        }
        List<DeviceSpec> devices = new ArrayList<>();
        double demand = total * 2;
        for (int d = 0; d < m - 1; d++) {
            devices.add(DeviceSpec.gpu(d, 1.3 * demand / (m - 1) / 0.5));
        }
        devices.add(DeviceSpec.cpu(demand));
        return new SyntheticGraph(sizes, from, to, volume, List.copyOf(devices), seed);
    }

    int n() {
        return sizes.length;
    }

    int m() {
        return devices.size();
    }

    ModelAssigner.Builder builder() {
        ModelAssigner.Builder b = ModelAssigner.builder();
        for (int i = 0; i < sizes.length; i++) {
            b.addModel("m" + i, sizes[i]);
        }
        for (int e = 0; e < from.length; e++) {
            b.connect(from[e], to[e], volume[e]);
        }
        return b.setDevices(devices).optCpuWeight(CPU_WEIGHT).optSeed(seed);
    }

    /** Each device's compute power as the assigner sees it. */
    double[] power() {
        double[] power = new double[m()];
        for (int d = 0; d < power.length; d++) {
            power[d] = devices.get(d).effectivePower(CPU_WEIGHT);
        }
        return power;
    }

    /** Tessera's communication, objective and memory check for a placement (a device index per model). */
    record Score(double communication, double objective, boolean feasible) {}

    /** Scores a placement with the assigner's objective and limits, written from its specification. */
    Score score(int[] a) {
        int m = m();
        double comm = 0;
        double totalVolume = 0;
        for (int e = 0; e < from.length; e++) {
            comm += volume[e] * distance(a[from[e]], a[to[e]]);
            totalVolume += volume[e];
        }
        double[] load = new double[m];
        double total = 0;
        for (int i = 0; i < sizes.length; i++) {
            double demand = sizes[i] * ModelSizeEstimator.DEFAULT_SIZE_MULTIPLIER;
            load[a[i]] += demand;
            total += demand;
        }
        double[] power = power();
        double totalPower = 0;
        for (double p : power) {
            totalPower += p;
        }
        double mismatch = 0;
        boolean feasible = true;
        for (int d = 0; d < m; d++) {
            double gap = load[d] / total - power[d] / totalPower; // complexity = demand
            mismatch += gap * gap;
            double capacity = devices.get(d).memoryMb() * MAX_MEM_RATIO;
            feasible &= load[d] <= capacity + 1e-9 + 1e-12 * capacity;
        }
        double objective = CONNECTION_WEIGHT * comm / (totalVolume * CPU_GPU) + COMPLEXITY_MATCH_WEIGHT * mismatch;
        return new Score(comm, objective, feasible);
    }

    private double distance(int r, int c) {
        if (r == c) {
            return 0;
        }
        return devices.get(r).isGpu() && devices.get(c).isGpu() ? GPU_GPU : CPU_GPU;
    }
}
