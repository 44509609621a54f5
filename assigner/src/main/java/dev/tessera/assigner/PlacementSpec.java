package dev.tessera.assigner;

import ai.djl.nn.Block;
import java.util.List;
import java.util.Map;

/**
 * Everything one placement needs, copied out of a {@link ModelAssigner.Builder} by {@link ModelAssigner.Builder#build()}:
 * the models, the connections, the devices with their distance matrix, and every setting. Changing the builder
 * after {@code build()} changes nothing about the built assigner: {@link #of} builds every array afresh (the distance
 * matrix is the builder's own deep copy, which the builder replaces and never writes), and nothing writes them
 * afterwards, so they are not copied again on each read. The DJL blocks and the listener are shared references.
 *
 * @param names model names, in the order of addition
 * @param sizesMb each model's size in MB, before the multiplier
 * @param complexities each model's complexity, or NaN where it defaults to the model's demand
 * @param blocks the DJL block of each model added as a block, by model index
 * @param edgeFrom the source model of each connection
 * @param edgeTo the target model of each connection
 * @param edgeVolume the traffic of each connection
 * @param devices the devices, in order
 * @param distance the m×m device distance matrix: the explicit one, or the one derived from the GPU–GPU and CPU–GPU
 *     distances
 * @param computeDevice where the gradient phase runs, or null for the first GPU DJL sees, else the CPU
 */
record PlacementSpec(
        List<String> names,
        double[] sizesMb,
        double[] complexities,
        Map<Integer, Block> blocks,
        int[] edgeFrom,
        int[] edgeTo,
        double[] edgeVolume,
        List<DeviceSpec> devices,
        double[][] distance,
        double modelSizeMultiplier,
        double maxMemRatio,
        double cpuWeight,
        double connectionWeight,
        double sizeMatchWeight,
        double complexityMatchWeight,
        double entropyWeight,
        int iterations,
        double updateRate,
        Double balanceTolerance,
        PlacementMethod method,
        double searchEffort,
        long seed,
        ai.djl.Device computeDevice,
        ProgressListener progress) {

    PlacementSpec {
        names = List.copyOf(names);
        blocks = Map.copyOf(blocks);
        devices = List.copyOf(devices);
    }

    /** Snapshots {@code b}; {@link ModelAssigner.Builder#build()} has already checked how its values combine. */
    static PlacementSpec of(ModelAssigner.Builder b) {
        int n = b.names.size();
        double[] sizes = new double[n];
        double[] complexities = new double[n];
        for (int i = 0; i < n; i++) {
            sizes[i] = b.sizes.get(i);
            Double c = b.complexities.get(i);
            complexities[i] = c == null ? Double.NaN : c;
        }
        int e = b.edges.size();
        int[] from = new int[e];
        int[] to = new int[e];
        double[] volume = new double[e];
        for (int k = 0; k < e; k++) {
            from[k] = b.edges.get(k)[0];
            to[k] = b.edges.get(k)[1];
            volume[k] = b.volumes.get(k);
        }
        double[][] distance = b.distance != null ? b.distance : derivedDistance(b.devices, b.gpuGpuDistance, b.cpuGpuDistance);
        return new PlacementSpec(b.names, sizes, complexities, b.blocks, from, to, volume, b.devices, distance,
                b.modelSizeMultiplier, b.maxMemRatio, b.cpuWeight, b.connectionWeight, b.sizeMatchWeight,
                b.complexityMatchWeight, b.entropyWeight, b.iterations, b.updateRate, b.balanceTolerance, b.method,
                b.searchEffort, b.seed, b.computeDevice, b.progress);
    }

    /** gpuGpu between two devices of one kind, cpuGpu between a GPU and the CPU, 0 on the diagonal. */
    private static double[][] derivedDistance(List<DeviceSpec> devices, double gpuGpu, double cpuGpu) {
        int m = devices.size();
        double[][] dist = new double[m][m];
        for (int r = 0; r < m; r++) {
            for (int c = 0; c < m; c++) {
                if (r != c) {
                    boolean sameKind = devices.get(r).isGpu() == devices.get(c).isGpu();
                    dist[r][c] = sameKind ? gpuGpu : cpuGpu;
                }
            }
        }
        return dist;
    }

    /** The number of models. */
    int n() {
        return names.size();
    }

    /** The number of devices. */
    int m() {
        return devices.size();
    }
}
