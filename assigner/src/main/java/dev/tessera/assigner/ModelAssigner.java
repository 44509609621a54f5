package dev.tessera.assigner;

import ai.djl.nn.Block;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Places N models (or the layers of one model) on M devices so that each device's memory holds what it gets,
 * compute is shared by device power, and heavy traffic stays off slow links. machin's {@code ModelAssigner} API
 * and defaults, with its flaws fixed: the connection term is normalised so it does not vanish as 1/n², a step
 * costs O(n·m² + E·m), and the default {@link PlacementMethod#REFINED} method repairs and improves the hardened
 * placement so it never breaks a memory (or balance) limit.
 *
 * <p>Thread-safe: the placement is computed once, on the first call to {@link #placement()} or {@link
 * #assignment()}, under a lock, and then shared. The assigner owns no native memory after that call returns; it
 * holds references to the blocks it was given, and changes them only in {@link #moveModels()}.
 *
 * <pre>{@code
 * ModelAssigner assigner = ModelAssigner.builder()
 *         .addBlock("encoder", encoder)
 *         .addBlock("decoder", decoder)
 *         .connect("encoder", "decoder", 1.0)
 *         .setDevices(Devices.detect())
 *         .build();
 * List<DeviceSpec> where = assigner.assignment();  // no side effects
 * assigner.moveModels();                        // moves each block's parameters to its device
 * }</pre>
 *
 * <p>A model whose children run in sequence can be read whole with {@link Builder#addGraph(ModelGraph)} and run
 * across its devices with {@link PlacedBlock}.
 */
public final class ModelAssigner {

    private final PlacementSpec spec;
    private Placement placement;

    private ModelAssigner(PlacementSpec spec) {
        this.spec = spec;
    }

    /**
     * Starts loading DJL's engine on a daemon thread and returns at once, so that the gradient phase of a placement
     * made soon after finds it loaded instead of waiting for PyTorch's native library (0.5–1 s on a cold JVM). For a
     * program that knows early that it will place a problem too large to enumerate, before its other start-up work;
     * the {@code ./tessera assign} command calls it before reading a graph file over 4 KB. Calling it again does
     * nothing, and a failure to load is left for the placement to report. Useless, but harmless, before a placement
     * that never loads DJL (a small problem searched exhaustively).
     */
    public static void preloadEngine() {
        EnginePreload.start();
    }

    /**
     * A new builder with machin's defaults; see each {@code opt*} method for its default.
     *
     * @return a new, empty builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The device of each model, in the order the models were added. Computes the placement on first use, as
     * {@link #placement()} does, with the same exceptions; moves nothing.
     *
     * @return an unmodifiable list with one device per model
     * @throws PlacementInfeasibleException when the hard constraints cannot be met (with the numbers)
     * @throws PlacementDivergedException when the gradient phase's loss becomes NaN or infinite
     */
    public List<DeviceSpec> assignment() {
        return placement().assignment();
    }

    /**
     * The full result: per-device memory and compute load and the cost terms. Computes the placement on first
     * use; moves nothing (see {@link #moveModels()}).
     *
     * <p>Runs at most once per assigner: later calls return the same object. When the run throws, nothing is
     * cached and the next call runs again. Blocks while another thread computes the placement.
     *
     * @return the placement; with {@link PlacementMethod#REFINED} it is always feasible
     * @throws PlacementInfeasibleException when the hard constraints cannot be met (with the numbers)
     * @throws PlacementDivergedException when the gradient phase's loss becomes NaN or infinite (lower {@code
     *     updateRate} or check the input for non-finite values)
     */
    public synchronized Placement placement() {
        if (placement == null) {
            placement = new PlacementRun(spec).run();
        }
        return placement;
    }

    /**
     * Moves the initialised parameters of each block added with {@code addBlock} or {@code addGraph} to the DJL
     * device of its placement, in place (the Parameter objects stay; their arrays move). Computes the placement
     * first when needed. Calling it again moves nothing that is already in place. To run a sequential model across
     * its devices, use {@link PlacedBlock}, which moves the parameters itself.
     *
     * @return the placement the blocks were moved to
     * @throws IllegalStateException when a block is placed on a GPU that DJL does not see (a virtual device, or an
     *     ordinal beyond DJL's GPU count); nothing is moved then
     * @throws PlacementInfeasibleException when the hard constraints cannot be met (with the numbers)
     * @throws PlacementDivergedException when the gradient phase's loss becomes NaN or infinite
     */
    public Placement moveModels() {
        Placement p = placement();
        BlockMover.move(spec.blocks(), p);
        return p;
    }

    /**
     * Options and inputs, with machin's defaults. Not thread-safe. Setters check their own argument; {@link
     * #build()} checks how they combine and copies everything into the assigner, so the builder can be changed or
     * reused afterwards without affecting assigners already built.
     */
    public static final class Builder {
        final List<String> names = new ArrayList<>();
        final List<Double> sizes = new ArrayList<>();
        final List<Double> complexities = new ArrayList<>();
        final Map<Integer, Block> blocks = new HashMap<>();
        final Map<String, Integer> index = new HashMap<>();
        final List<int[]> edges = new ArrayList<>();
        final List<Double> volumes = new ArrayList<>();
        List<DeviceSpec> devices;
        double[][] distance;
        double modelSizeMultiplier = ModelSizeEstimator.DEFAULT_SIZE_MULTIPLIER;
        double maxMemRatio = 0.5;
        double cpuWeight = 0;
        double connectionWeight = 2;
        double sizeMatchWeight = 0.01;
        double complexityMatchWeight = 1;
        double entropyWeight = 1;
        int iterations = 500;
        double updateRate = 0.01;
        double gpuGpuDistance = 1;
        double cpuGpuDistance = 10;
        long seed = 0;
        Double balanceTolerance;
        PlacementMethod method = PlacementMethod.REFINED;
        double searchEffort = 1;
        ai.djl.Device computeDevice;
        ProgressListener progress = ProgressListener.NONE;

        private Builder() {}

        /**
         * Adds a model by size in MB (before the multiplier); its complexity defaults to its demand (sizeMb ×
         * modelSizeMultiplier), as in machin.
         *
         * @param name a name unique among the models
         * @param sizeMb the model's size in MB (finite, >= 0)
         * @return this builder
         * @throws NullPointerException when {@code name} is null
         * @throws IllegalArgumentException when the name is already used or {@code sizeMb} is negative or not finite
         */
        public Builder addModel(String name, double sizeMb) {
            return add(name, sizeMb, null, null);
        }

        /**
         * Adds a model by size in MB (before the multiplier) and complexity (any unit, >= 0).
         *
         * @param name a name unique among the models
         * @param sizeMb the model's size in MB (finite, >= 0)
         * @param complexity the model's compute complexity, in any unit shared by all models (finite, >= 0)
         * @return this builder
         * @throws NullPointerException when {@code name} is null
         * @throws IllegalArgumentException when the name is already used or a number is negative or not finite
         */
        public Builder addModel(String name, double sizeMb, double complexity) {
            return add(name, sizeMb, checkNonNegative("complexity of model " + name, complexity), null);
        }

        /**
         * Adds a DJL block, sized now by {@link ModelSizeEstimator#sizeMb(Block)} (MB, before the multiplier); its
         * complexity defaults to its demand. The block is held by reference; its parameters move to its device only in
         * {@link ModelAssigner#moveModels()}.
         *
         * @param name a name unique among the models
         * @param block the block; not copied
         * @return this builder
         * @throws NullPointerException when {@code name} or {@code block} is null
         * @throws IllegalArgumentException when the name is already used
         */
        public Builder addBlock(String name, Block block) {
            Objects.requireNonNull(block, "block");
            return add(name, ModelSizeEstimator.sizeMb(block), null, block);
        }

        /**
         * Adds a DJL block, as {@link #addBlock(String, Block)} does, with an explicit complexity.
         *
         * @param name a name unique among the models
         * @param block the block; not copied
         * @param complexity the model's compute complexity, in any unit shared by all models (finite, >= 0)
         * @return this builder
         * @throws NullPointerException when {@code name} or {@code block} is null
         * @throws IllegalArgumentException when the name is already used or {@code complexity} is negative or not
         *     finite
         */
        public Builder addBlock(String name, Block block, double complexity) {
            Objects.requireNonNull(block, "block");
            return add(name, ModelSizeEstimator.sizeMb(block), checkNonNegative("complexity of model " + name, complexity), block);
        }

        /**
         * Adds every part of a model read by {@link ModelGraph}, under the part names ({@code 01Linear}, ...), with
         * the graph's sizes (MB, before the multiplier) and complexities (multiply-accumulates), and connects each
         * part to the next with the volume of its output (MB). The blocks are held by reference, as in {@link
         * #addBlock(String, Block)}.
         *
         * @param graph the graph; its parts are added in the order they run
         * @return this builder
         * @throws NullPointerException when {@code graph} is null
         * @throws IllegalArgumentException when a part name is already used (nothing is added then)
         */
        public Builder addGraph(ModelGraph graph) {
            Objects.requireNonNull(graph, "graph");
            List<ModelGraph.Part> parts = graph.parts();
            for (ModelGraph.Part part : parts) {
                if (index.containsKey(part.name())) {
                    throw new IllegalArgumentException("model name '" + part.name() + "' of the graph is used twice"
                            + " (add each model graph once, or add the other models under other names)");
                }
            }
            int first = names.size();
            for (ModelGraph.Part part : parts) {
                add(part.name(), part.sizeMb(), checkNonNegative("complexity of model " + part.name(), part.complexity()),
                        part.block());
            }
            for (int i = 1; i < parts.size(); i++) {
                connect(first + i - 1, first + i, parts.get(i - 1).outputMb());
            }
            return this;
        }

        private Builder add(String name, double sizeMb, Double complexity, Block block) {
            Objects.requireNonNull(name, "name");
            if (index.containsKey(name)) {
                throw new IllegalArgumentException("model name '" + name + "' is used twice");
            }
            checkNonNegative("sizeMb of model " + name, sizeMb);
            index.put(name, names.size());
            if (block != null) {
                blocks.put(names.size(), block);
            }
            names.add(name);
            sizes.add(sizeMb);
            complexities.add(complexity);
            return this;
        }

        /**
         * Declares traffic of {@code volume} (any unit, >= 0) from one model to another, by name. A connection from
         * a model to itself is an error: traffic within a model costs nothing wherever it goes. Both models must
         * have been added already. Repeated connections add up.
         *
         * @param from the sending model's name
         * @param to the receiving model's name
         * @param volume the traffic, in any unit shared by all connections (finite, >= 0)
         * @return this builder
         * @throws IllegalArgumentException when a name is unknown, {@code from} equals {@code to}, or {@code volume}
         *     is negative or not finite
         */
        public Builder connect(String from, String to, double volume) {
            return connect(modelIndex(from), modelIndex(to), volume);
        }

        /**
         * Declares traffic by model index (the order of addition), as machin's connection dict does.
         *
         * @param from the sending model's index ({@code 0 <= from <} the number of models)
         * @param to the receiving model's index ({@code 0 <= to <} the number of models)
         * @param volume the traffic, in any unit shared by all connections (finite, >= 0)
         * @return this builder
         * @throws IllegalArgumentException when an index is out of range, {@code from == to}, or {@code volume} is
         *     negative or not finite
         */
        public Builder connect(int from, int to, double volume) {
            checkIndex("from", from);
            checkIndex("to", to);
            if (from == to) {
                throw new IllegalArgumentException("connection '" + names.get(from) + "' -> '" + names.get(to)
                        + "' is a self-loop (traffic within one model costs nothing; leave it out)");
            }
            checkNonNegative("volume of connection " + from + "->" + to, volume);
            edges.add(new int[] {from, to});
            volumes.add(volume);
            return this;
        }

        private int modelIndex(String name) {
            Integer i = index.get(name);
            if (i == null) {
                throw new IllegalArgumentException("connection names unknown model '" + name + "' (known: " + names + ")");
            }
            return i;
        }

        private void checkIndex(String what, int i) {
            if (i < 0 || i >= names.size()) {
                throw new IllegalArgumentException(what + "=" + i + " (expected 0 <= x < " + names.size() + " models)");
            }
        }

        /**
         * The devices to place on, in order (required; for example {@link Devices#detect()} or {@link
         * Devices#virtualSet()}). The list is copied; each call replaces the previous one.
         *
         * @param devices at least one device, names unique
         * @return this builder
         * @throws NullPointerException when the list or an element is null
         * @throws IllegalArgumentException when the list is empty or a device name appears twice
         */
        public Builder setDevices(List<DeviceSpec> devices) {
            Objects.requireNonNull(devices, "devices");
            if (devices.isEmpty()) {
                throw new IllegalArgumentException("devices is empty (expected at least one device)");
            }
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (DeviceSpec d : devices) {
                if (!seen.add(Objects.requireNonNull(d, "device").name())) {
                    throw new IllegalArgumentException("device name '" + d.name() + "' is used twice");
                }
            }
            this.devices = List.copyOf(devices);
            return this;
        }

        /**
         * An explicit m×m device distance matrix (finite, >= 0, zero diagonal), in device order; the matrix is
         * copied. Default: none, so distances derive from {@link #optGpuGpuDistance} and {@link
         * #optCpuGpuDistance}, which this replaces. {@link #build()} checks that it is m×m.
         *
         * @param distance distance[r][c] from device r to device c, in any unit
         * @return this builder
         * @throws NullPointerException when {@code distance} is null
         * @throws IllegalArgumentException when an entry is negative or not finite, or a diagonal entry is not 0
         */
        public Builder optDistance(double[][] distance) {
            Objects.requireNonNull(distance, "distance");
            for (int r = 0; r < distance.length; r++) {
                for (int c = 0; c < distance[r].length; c++) {
                    checkNonNegative("distance[" + r + "][" + c + "]", distance[r][c]);
                }
                if (distance[r].length > r && distance[r][r] != 0) {
                    throw new IllegalArgumentException("distance[" + r + "][" + r + "]=" + distance[r][r] + " (expected 0: same device)");
                }
            }
            this.distance = new double[distance.length][];
            for (int r = 0; r < distance.length; r++) {
                this.distance[r] = distance[r].clone();
            }
            return this;
        }

        /**
         * Multiplies each model's size into its memory demand (demand = sizeMb × multiplier), leaving room for
         * gradients and activations. Default {@value ModelSizeEstimator#DEFAULT_SIZE_MULTIPLIER} (machin's).
         *
         * @param v the multiplier (finite, > 0)
         * @return this builder
         * @throws IllegalArgumentException when {@code v} is not > 0 or is infinite (the message gives the value)
         */
        public Builder optModelSizeMultiplier(double v) {
            modelSizeMultiplier = checkPositive("modelSizeMultiplier", v);
            return this;
        }

        /**
         * The fraction of each device's {@link DeviceSpec#memoryMb()} that models may use (capacity = memoryMb ×
         * ratio). Default 0.5 (machin's).
         *
         * @param v the ratio ({@code 0 < v <= 1})
         * @return this builder
         * @throws IllegalArgumentException when {@code v} is not in (0, 1] (the message gives the value)
         */
        public Builder optMaxMemRatio(double v) {
            if (!(v > 0 && v <= 1)) {
                throw new IllegalArgumentException("maxMemRatio=" + v + " (expected 0 < x <= 1)");
            }
            maxMemRatio = v;
            return this;
        }

        /**
         * The compute power of a CPU device without an explicit {@link DeviceSpec#withPower power}, relative to 1 for
         * a GPU. Default 0 (machin's): the CPU gets no share of the compute.
         *
         * @param v the relative power (finite, >= 0)
         * @return this builder
         * @throws IllegalArgumentException when {@code v} is negative, NaN or infinite (the message gives the value)
         */
        public Builder optCpuWeight(double v) {
            cpuWeight = checkNonNegative("cpuWeight", v);
            return this;
        }

        /**
         * Weight of the communication term (Σ volume × distance, normalised by Σ volume × max distance) in the
         * objective. Default 2 (machin's).
         *
         * @param v the weight (finite, >= 0)
         * @return this builder
         * @throws IllegalArgumentException when {@code v} is negative, NaN or infinite (the message gives the value)
         */
        public Builder optConnectionWeight(double v) {
            connectionWeight = checkNonNegative("connectionWeight", v);
            return this;
        }

        /**
         * Weight of the gradient phase's memory (and balance) overflow penalty; the discrete phase of
         * {@link PlacementMethod#REFINED} enforces the limits exactly regardless. Default 0.01 (machin's).
         *
         * @param v the weight (finite, >= 0)
         * @return this builder
         * @throws IllegalArgumentException when {@code v} is negative, NaN or infinite (the message gives the value)
         */
        public Builder optSizeMatchWeight(double v) {
            sizeMatchWeight = checkNonNegative("sizeMatchWeight", v);
            return this;
        }

        /**
         * Weight of the compute-balance term Σ_d (complexity share_d − power share_d)² in the objective. Default 1
         * (machin's).
         *
         * @param v the weight (finite, >= 0)
         * @return this builder
         * @throws IllegalArgumentException when {@code v} is negative, NaN or infinite (the message gives the value)
         */
        public Builder optComplexityMatchWeight(double v) {
            complexityMatchWeight = checkNonNegative("complexityMatchWeight", v);
            return this;
        }

        /**
         * Weight of the gradient phase's annealed entropy term, which hardens each model's device probabilities
         * towards the end of the descent. Default 1 (machin's).
         *
         * @param v the weight (finite, >= 0)
         * @return this builder
         * @throws IllegalArgumentException when {@code v} is negative, NaN or infinite (the message gives the value)
         */
        public Builder optEntropyWeight(double v) {
            entropyWeight = checkNonNegative("entropyWeight", v);
            return this;
        }

        /**
         * Number of gradient-descent (Adam) steps in the gradient phase; 0 skips the descent and hardens the
         * seeded initial weights. Default 500 (machin's).
         *
         * @param v the number of steps (>= 0)
         * @return this builder
         * @throws IllegalArgumentException when {@code v} is negative (the message gives the value)
         */
        public Builder optIterations(int v) {
            if (v < 0) {
                throw new IllegalArgumentException("iterations=" + v + " (expected >= 0)");
            }
            iterations = v;
            return this;
        }

        /**
         * The gradient phase's Adam learning rate; lower it when the run throws {@link PlacementDivergedException}.
         * Default 0.01 (machin's).
         *
         * @param v the learning rate (finite, > 0)
         * @return this builder
         * @throws IllegalArgumentException when {@code v} is not > 0 or is infinite (the message gives the value)
         */
        public Builder optUpdateRate(double v) {
            updateRate = checkPositive("updateRate", v);
            return this;
        }

        /**
         * Distance between two devices of the same kind (GPU to GPU), used when no {@link #optDistance} matrix is
         * given. Default 1 (machin's).
         *
         * @param v the distance, in the unit of the other distances (finite, >= 0)
         * @return this builder
         * @throws IllegalArgumentException when {@code v} is negative, NaN or infinite (the message gives the value)
         */
        public Builder optGpuGpuDistance(double v) {
            gpuGpuDistance = checkNonNegative("gpuGpuDistance", v);
            return this;
        }

        /**
         * Distance between the CPU and a GPU, used when no {@link #optDistance} matrix is given. Default 10
         * (machin's).
         *
         * @param v the distance, in the unit of the other distances (finite, >= 0)
         * @return this builder
         * @throws IllegalArgumentException when {@code v} is negative, NaN or infinite (the message gives the value)
         */
        public Builder optCpuGpuDistance(double v) {
            cpuGpuDistance = checkNonNegative("cpuGpuDistance", v);
            return this;
        }

        /**
         * Seed of the gradient phase's initial weights and of the local search; a seed fixes the answer on every
         * engine. Default 0.
         *
         * @param v the seed (any value)
         * @return this builder
         */
        public Builder optSeed(long v) {
            seed = v;
            return this;
        }

        /**
         * Turns on the balance constraint: compute on d ≤ (1+ε) × power share_d × total complexity, raised to the
         * largest single model's complexity when the device has power. Off by default.
         *
         * @param v the tolerance ε (finite, >= 0)
         * @return this builder
         * @throws IllegalArgumentException when {@code v} is negative, NaN or infinite (the message gives the value)
         */
        public Builder optBalanceTolerance(double v) {
            balanceTolerance = checkNonNegative("balanceTolerance", v);
            return this;
        }

        /**
         * How to search for the placement. Default {@link PlacementMethod#REFINED}.
         *
         * @param v the method
         * @return this builder
         * @throws NullPointerException when {@code v} is null
         */
        public Builder optMethod(PlacementMethod v) {
            method = Objects.requireNonNull(v, "method");
            return this;
        }

        /**
         * Scales the number of local-search kicks per start of {@link PlacementMethod#REFINED} (default 1); results
         * stay deterministic for a seed.
         *
         * @param v the scale factor (finite, >= 0)
         * @return this builder
         * @throws IllegalArgumentException when {@code v} is negative, NaN or infinite (the message gives the value)
         */
        public Builder optSearchEffort(double v) {
            searchEffort = checkNonNegative("searchEffort", v);
            return this;
        }

        /**
         * Where the gradient phase runs; default: the first GPU when DJL sees one, else the CPU.
         *
         * @param v the DJL device
         * @return this builder
         * @throws NullPointerException when {@code v} is null
         */
        public Builder optComputeDevice(ai.djl.Device v) {
            computeDevice = Objects.requireNonNull(v, "computeDevice");
            return this;
        }

        /**
         * Receives progress of the gradient and search phases, on the thread that computes the placement.
         * Default {@link ProgressListener#NONE}.
         *
         * @param v the listener; held by reference
         * @return this builder
         * @throws NullPointerException when {@code v} is null
         */
        public Builder optProgressListener(ProgressListener v) {
            progress = Objects.requireNonNull(v, "progressListener");
            return this;
        }

        /**
         * Checks how the values combine and copies them into a new assigner; later changes to this builder do not
         * reach it. The placement itself is computed later, on the first call to {@link ModelAssigner#placement()}.
         *
         * @return a new assigner
         * @throws IllegalStateException when no model was added or {@link #setDevices} was not called
         * @throws IllegalArgumentException when an explicit distance matrix is not m×m for the m devices
         */
        public ModelAssigner build() {
            if (names.isEmpty()) {
                throw new IllegalStateException("addModel(...) or addBlock(...) is required (no models were added)");
            }
            if (devices == null) {
                throw new IllegalStateException("setDevices(...) is required (e.g. setDevices(Devices.detect()))");
            }
            if (distance != null) {
                int m = devices.size();
                boolean square = distance.length == m;
                for (double[] row : distance) {
                    square &= row.length == m;
                }
                if (!square) {
                    throw new IllegalArgumentException("distance is " + distance.length + "x"
                            + (distance.length == 0 ? 0 : distance[0].length) + " (expected " + m + "x" + m
                            + ", one row and column per device)");
                }
            }
            return new ModelAssigner(PlacementSpec.of(this));
        }

        private static double checkNonNegative(String what, double v) {
            if (!(v >= 0) || Double.isInfinite(v)) {
                throw new IllegalArgumentException(what + "=" + v + " (expected finite >= 0)");
            }
            return v;
        }

        private static double checkPositive(String what, double v) {
            if (!(v > 0) || Double.isInfinite(v)) {
                throw new IllegalArgumentException(what + "=" + v + " (expected finite > 0)");
            }
            return v;
        }
    }
}
