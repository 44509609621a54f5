package dev.tessera.assigner;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.util.Pair;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The placement problem read from a DJL model whose children run in sequence (a {@link ai.djl.nn.SequentialBlock}
 * or any block whose forward feeds each child the previous child's output): one part per child, and one connection
 * from each part to the next. Immutable and thread-safe as a value; it holds references to the model's blocks and
 * owns no native memory (initialising the model on {@link Builder#optInitializeOn} puts its parameters on that
 * manager, which the caller owns).
 *
 * <p>For each part, read from the model itself:
 * <ul>
 *   <li><b>size</b>: {@link ModelSizeEstimator#sizeMb(Block)} of the child (its parameters), plus, when {@link
 *       Builder#optActivations} is set, the bytes of its activations (below) for the given input shape;
 *   <li><b>connection volume</b> to the next part: the child's output in MB (elements of DJL's {@code
 *       getOutputShapes} × the data type's size), which is what crosses the link when the two parts sit on different
 *       devices;
 *   <li><b>complexity</b>: multiply-accumulates per forward pass, from shapes for {@code Linear} and {@code
 *       Convolution} blocks (output elements × weight elements / output channels), reached through nested
 *       sequential and parallel blocks; any other block with parameters counts its parameter count × the batch (one
 *       multiply-accumulate per parameter per sample). {@link Part#complexityFromShapes()} says whether a part needed
 *       that fallback.
 * </ul>
 * Activations are the outputs of every leaf block in the part (what autograd keeps for the backward pass, roughly),
 * in the same data type.
 *
 * <pre>{@code
 * ModelGraph graph = ModelGraph.of(net, new Shape(32, 784));
 * Placement p = ModelAssigner.builder().addGraph(graph).setDevices(Devices.detect()).build().placement();
 * PlacedBlock placed = PlacedBlock.of(net, p);
 * }</pre>
 */
public final class ModelGraph {
    private static final double BYTES_PER_MB = 1024.0 * 1024.0;

    /**
     * One child of the model, as a model to place.
     *
     * @param name the child's name in the model ({@code 01Linear}); unique within the model
     * @param block the child block (a reference, not a copy)
     * @param inputShapes the shapes the child receives for the graph's input shape
     * @param outputShapes the shapes it returns, from DJL's {@code getOutputShapes}
     * @param parameterMb its parameters in MB, as {@link ModelSizeEstimator#sizeMb(Block)} counts them
     * @param activationMb its activations in MB for the graph's input shape
     * @param sizeMb the size given to the assigner: parameterMb, plus activationMb when the graph counts activations
     * @param outputMb its output in MB: the volume of the connection to the next part
     * @param complexity multiply-accumulates per forward pass (see {@link ModelGraph})
     * @param complexityFromShapes true when every block with parameters was a Linear or Convolution counted from
     *     shapes; false when the parameter-count fallback was used for some of it
     */
    public record Part(
            String name,
            Block block,
            List<Shape> inputShapes,
            List<Shape> outputShapes,
            double parameterMb,
            double activationMb,
            double sizeMb,
            double outputMb,
            double complexity,
            boolean complexityFromShapes) {
        /** Copies the shape lists. */
        public Part {
            inputShapes = List.copyOf(inputShapes);
            outputShapes = List.copyOf(outputShapes);
        }
    }

    private final Block model;
    private final Shape input;
    private final boolean activations;
    private final List<Part> parts;

    private ModelGraph(Block model, Shape input, boolean activations, List<Part> parts) {
        this.model = model;
        this.input = input;
        this.activations = activations;
        this.parts = List.copyOf(parts);
    }

    /**
     * The graph of an initialised model for one input shape, sizes without activations, float32 volumes; see
     * {@link #builder()} to initialise the model, count activations or pick the data type.
     *
     * @param model the model; its children run in sequence, and its parameters must be initialised
     * @param input the shape of the model's input, batch first
     * @return the graph
     * @throws NullPointerException when an argument is null
     * @throws IllegalArgumentException when the model has no children, is not initialised (the message names the
     *     child), or a child rejects the shapes its predecessor produces
     */
    public static ModelGraph of(Block model, Shape input) {
        return builder().setModel(model).setInputShape(input).build();
    }

    /**
     * A builder for the options {@link #of(Block, Shape)} leaves at their defaults.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The model the graph was read from.
     *
     * @return the model (a reference)
     */
    public Block model() {
        return model;
    }

    /**
     * The input shape the sizes, volumes and complexities are for.
     *
     * @return the input shape
     */
    public Shape inputShape() {
        return input;
    }

    /**
     * Whether each part's {@link Part#sizeMb()} includes its activations.
     *
     * @return true when activations are counted
     */
    public boolean countsActivations() {
        return activations;
    }

    /**
     * The parts, in the order they run.
     *
     * @return an unmodifiable list with one part per child of the model
     */
    public List<Part> parts() {
        return parts;
    }

    /**
     * The part names, in the order they run: the model names a placement made from this graph uses.
     *
     * @return an unmodifiable list
     */
    public List<String> names() {
        return parts.stream().map(Part::name).toList();
    }

    @Override
    public String toString() {
        return "ModelGraph(" + parts.size() + " parts, input " + input + (activations ? ", with activations" : "") + ")";
    }

    /** Options for {@link ModelGraph}. Not thread-safe; {@link #build()} reads the model once. */
    public static final class Builder {
        private Block model;
        private Shape input;
        private NDManager manager;
        private DataType dataType = DataType.FLOAT32;
        private boolean activations;

        private Builder() {}

        /**
         * The model whose children become the parts (required).
         *
         * @param v the model; its children run in sequence
         * @return this builder
         * @throws NullPointerException when {@code v} is null
         */
        public Builder setModel(Block v) {
            model = Objects.requireNonNull(v, "model");
            return this;
        }

        /**
         * The shape of the model's input, batch first (required).
         *
         * @param v the shape, with at least one dimension
         * @return this builder
         * @throws NullPointerException when {@code v} is null
         * @throws IllegalArgumentException when {@code v} has no dimension or a negative (unknown) one
         */
        public Builder setInputShape(Shape v) {
            Objects.requireNonNull(v, "inputShape");
            if (v.dimension() == 0 || v.hasZeroDimension() || Arrays.stream(v.getShape()).anyMatch(d -> d < 0)) {
                throw new IllegalArgumentException("inputShape=" + v + " (expected known dimensions > 0, batch first)");
            }
            input = v;
            return this;
        }

        /**
         * Initialises the model for the input shape on this manager when it is not initialised yet; its parameters
         * then belong to the manager (and sit on its device). Default: none, and an uninitialised model is an error
         * naming the child.
         *
         * @param v the manager; held until {@link #build()}
         * @return this builder
         * @throws NullPointerException when {@code v} is null
         */
        public Builder optInitializeOn(NDManager v) {
            manager = Objects.requireNonNull(v, "manager");
            return this;
        }

        /**
         * The data type of the activations and outputs, used for volumes and activation sizes and for initialising.
         * Default {@link DataType#FLOAT32}.
         *
         * @param v a numeric data type with a known size
         * @return this builder
         * @throws NullPointerException when {@code v} is null
         * @throws IllegalArgumentException when {@code v} has no byte size (for example {@code STRING})
         */
        public Builder optDataType(DataType v) {
            Objects.requireNonNull(v, "dataType");
            if (v.getNumOfBytes() <= 0) {
                throw new IllegalArgumentException("dataType=" + v + " (expected a numeric type with a byte size)");
            }
            dataType = v;
            return this;
        }

        /**
         * Whether each part's size includes its activations for the input shape, which training keeps until the
         * backward pass. Default false: parameters only, as {@link ModelSizeEstimator} counts them (the assigner's
         * {@code modelSizeMultiplier} then leaves room for the rest).
         *
         * @param v true to count activations
         * @return this builder
         */
        public Builder optActivations(boolean v) {
            activations = v;
            return this;
        }

        /**
         * Reads the model: initialises it when asked, walks its children with their shapes and measures each one.
         *
         * @return the graph
         * @throws IllegalStateException when the model or the input shape is missing
         * @throws IllegalArgumentException when the model has no children, is not initialised and no manager was
         *     given (the message names the child), or a child rejects the shapes its predecessor produces
         */
        public ModelGraph build() {
            if (model == null || input == null) {
                throw new IllegalStateException((model == null ? "setModel(...)" : "setInputShape(...)") + " is required");
            }
            List<Pair<String, Block>> children = model.getChildren().stream().toList();
            if (children.isEmpty()) {
                throw new IllegalArgumentException("model " + model.getClass().getSimpleName() + " has no children"
                        + " (ModelGraph places the children of a sequential block; wrap a single block in a SequentialBlock)");
            }
            ensureInitialized(children);
            List<Part> parts = new ArrayList<>();
            Shape[] shapes = {input};
            for (Pair<String, Block> child : children) {
                Part part = measure(child.getKey(), child.getValue(), shapes);
                parts.add(part);
                shapes = part.outputShapes().toArray(Shape[]::new);
            }
            return new ModelGraph(model, input, activations, parts);
        }

        private void ensureInitialized(List<Pair<String, Block>> children) {
            if (model.isInitialized()) {
                return;
            }
            if (manager != null) {
                model.initialize(manager, dataType, input);
                return;
            }
            String first = children.stream().filter(c -> !c.getValue().isInitialized()).map(Pair::getKey).findFirst()
                    .orElse(model.getClass().getSimpleName());
            throw new IllegalArgumentException("model " + model.getClass().getSimpleName() + " is not initialised (child '"
                    + first + "' has no parameter values): call model.initialize(manager, DataType.FLOAT32, " + input
                    + ") first, or give ModelGraph.builder() optInitializeOn(manager)");
        }

        private Part measure(String name, Block child, Shape[] in) {
            BlockCost cost;
            Shape[] out;
            try {
                out = child.getOutputShapes(in);
                cost = BlockCost.of(child, in);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("child '" + name + "' rejects input shapes " + Arrays.toString(in)
                        + " (are the model's children really run in sequence?): " + e.getMessage(), e);
            }
            double bytes = dataType.getNumOfBytes();
            double parameterMb = ModelSizeEstimator.sizeMb(child);
            double activationMb = cost.activationElements() * bytes / BYTES_PER_MB;
            double outputMb = BlockCost.elements(out) * bytes / BYTES_PER_MB;
            double sizeMb = parameterMb + (activations ? activationMb : 0);
            return new Part(name, child, List.of(in), List.of(out), parameterMb, activationMb, sizeMb, outputMb,
                    cost.complexity(), cost.fromShapes());
        }
    }
}
