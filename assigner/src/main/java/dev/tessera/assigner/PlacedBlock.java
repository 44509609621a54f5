package dev.tessera.assigner;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.TrainingConfig;
import ai.djl.util.Pair;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A DJL {@link Block} that runs a model whose children run in sequence (a {@link ai.djl.nn.SequentialBlock}) split
 * over devices: each child (a part) runs on its own device, and the activations move to the next part's device at
 * every boundary, by a copy that autograd records, so gradients flow back across the same boundaries (DJL's
 * {@code NDArray.toDevice} copies with gradients off: the parts before a boundary would never learn). It is DJL's pipeline of a sequential block over devices, without micro-batching: one part works at
 * a time. Thread-safety is DJL's for blocks: forward passes may run concurrently for inference, training is driven by
 * one trainer. It holds the wrapped model as its only child and owns no memory of its own; the parameters stay the
 * model's, moved once, in place, when the PlacedBlock is made.
 *
 * <p>Train it with {@link #newTrainer(Model, TrainingConfig)}, then with {@code EasyTrain} or by hand as with any
 * DJL trainer. DJL's own {@code Model.newTrainer} keeps a copy of every parameter on each training device (data
 * parallelism) and updates the copies, so a placed model refuses to train through it. Inference works through any
 * parameter store (a {@code Predictor}, or {@code forward} with a new {@code ParameterStore}).
 *
 * <p>The output comes back to the device the input came from, so labels and the loss stay where the data is.
 *
 * <pre>{@code
 * ModelGraph graph = ModelGraph.builder().setModel(net).setInputShape(new Shape(32, 784))
 *         .optInitializeOn(manager).build();
 * Placement placement = ModelAssigner.builder().addGraph(graph).setDevices(Devices.detect()).build().placement();
 * PlacedBlock placed = PlacedBlock.of(net, placement);
 * try (Model model = Model.newInstance("net")) {
 *     model.setBlock(placed);
 *     try (Trainer trainer = placed.newTrainer(model, config)) {
 *         EasyTrain.fit(trainer, epochs, trainingSet, null);
 *     }
 * }
 * }</pre>
 */
public final class PlacedBlock extends AbstractBlock {
    private static final byte VERSION = 1;

    private final Block model;
    private final List<String> names;
    private final List<Block> parts;
    private final List<Device> devices;

    private PlacedBlock(Block model, List<Device> devices) {
        super(VERSION);
        List<Pair<String, Block>> children = model.getChildren().stream().toList();
        checkShape(model, children, devices);
        this.model = model;
        this.names = children.stream().map(Pair::getKey).toList();
        this.parts = children.stream().map(Pair::getValue).toList();
        this.devices = List.copyOf(devices);
        for (int i = 0; i < parts.size(); i++) {
            BlockMover.checkVisible(names.get(i), this.devices.get(i));
        }
        for (int i = 0; i < parts.size(); i++) {
            BlockMover.moveBlock(parts.get(i), this.devices.get(i));
        }
        addChildBlock("model", model);
    }

    /**
     * Places each child of {@code model} where {@code placement} put the model of the same name (a placement made
     * from {@link ModelGraph} of this model, for example) and moves its parameters there.
     *
     * @param model an initialised model whose children run in sequence
     * @param placement a placement naming every child of the model
     * @return the placed block
     * @throws NullPointerException when an argument is null
     * @throws IllegalArgumentException when the model is not initialised, has no children, holds parameters outside
     *     its children, or the placement lacks a child (each message names it)
     * @throws IllegalStateException when a child is placed on a virtual device or a GPU DJL does not see (nothing is
     *     moved then)
     */
    public static PlacedBlock of(Block model, Placement placement) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(placement, "placement");
        Map<String, Integer> index = new java.util.HashMap<>();
        for (int i = 0; i < placement.models().size(); i++) {
            index.put(placement.models().get(i), i);
        }
        List<ai.djl.Device> where = new ArrayList<>();
        List<DeviceSpec> assigned = placement.assignment();
        for (String name : model.getChildren().keys()) {
            Integer i = index.get(name);
            if (i == null) {
                throw new IllegalArgumentException("child '" + name + "' of the model is not in the placement (placed: "
                        + placement.models() + "); place the model read by ModelGraph.of(model, inputShape)");
            }
            where.add(BlockMover.djlDevice(name, assigned.get(i)));
        }
        return new PlacedBlock(model, where);
    }

    /**
     * Places the children of {@code model} on the given DJL devices, one per child in order, and moves their
     * parameters there.
     *
     * @param model an initialised model whose children run in sequence
     * @param devices one DJL device per child, in the order the children run
     * @return the placed block
     * @throws NullPointerException when an argument or a device is null
     * @throws IllegalArgumentException when the model is not initialised, has no children or holds parameters outside
     *     its children, or the number of devices differs from the number of children
     * @throws IllegalStateException when a device is a GPU DJL does not see (nothing is moved then)
     */
    public static PlacedBlock of(Block model, List<Device> devices) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(devices, "devices");
        devices.forEach(d -> Objects.requireNonNull(d, "device"));
        return new PlacedBlock(model, devices);
    }

    private static void checkShape(Block model, List<Pair<String, Block>> children, List<Device> devices) {
        String what = "model " + model.getClass().getSimpleName();
        if (children.isEmpty()) {
            throw new IllegalArgumentException(what + " has no children (a PlacedBlock runs the children of a sequential block)");
        }
        for (Pair<String, Block> c : children) {
            if (!c.getValue().isInitialized()) {
                throw new IllegalArgumentException(what + " is not initialised (child '" + c.getKey() + "'): initialise it"
                        + " first, for example with ModelGraph.builder().optInitializeOn(manager)");
            }
        }
        if (!model.getDirectParameters().isEmpty()) {
            throw new IllegalArgumentException(what + " has parameters of its own " + model.getDirectParameters().keys()
                    + ", outside its children; a PlacedBlock runs only the children");
        }
        if (devices.size() != children.size()) {
            throw new IllegalArgumentException("devices has " + devices.size() + " entries for " + children.size()
                    + " children (expected one device per child, in order)");
        }
    }

    /**
     * A DJL trainer for a model whose block is this PlacedBlock: DJL's {@link Trainer} with forward passes and
     * optimizer steps that read and update each parameter on its own device. Batches from {@code EasyTrain} go to
     * the first part's device; the configuration's own devices are not used. Use it as any trainer: {@code
     * initialize}, {@code EasyTrain.fit} or {@code trainBatch} and {@code step}, and close it.
     *
     * @param trainingModel the model whose block is this PlacedBlock
     * @param config the training configuration (loss, optimizer, evaluators, listeners)
     * @return a new trainer; the caller closes it
     * @throws NullPointerException when an argument is null
     * @throws IllegalArgumentException when {@code trainingModel.getBlock()} is not this PlacedBlock
     */
    public Trainer newTrainer(Model trainingModel, TrainingConfig config) {
        Objects.requireNonNull(trainingModel, "model");
        Objects.requireNonNull(config, "config");
        if (trainingModel.getBlock() != this) {
            throw new IllegalArgumentException("model '" + trainingModel.getName() + "' does not hold this PlacedBlock"
                    + " (call model.setBlock(placed) first)");
        }
        return new PlacedTrainer(trainingModel, config, devices.get(0));
    }

    /**
     * The wrapped model.
     *
     * @return the model (a reference)
     */
    public Block model() {
        return model;
    }

    /**
     * The names of the parts (the model's children), in the order they run.
     *
     * @return an unmodifiable list
     */
    public List<String> partNames() {
        return names;
    }

    /**
     * The device of each part, in the order they run.
     *
     * @return an unmodifiable list
     */
    public List<Device> devices() {
        return devices;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore, NDList inputs, boolean training, PairList<String, Object> params) {
        ParameterStore store = storeFor(parameterStore, training);
        Device home = inputs.head().getDevice();
        NDList x = inputs;
        for (int i = 0; i < parts.size(); i++) {
            x = parts.get(i).forward(store, move(x, devices.get(i), training), training, params);
        }
        return move(x, home, training);
    }

    /** Each array on the device; in training by a copy autograd records ({@link #move(NDArray, Device, boolean)}). */
    static NDList move(NDList arrays, Device device, boolean training) {
        NDList out = new NDList(arrays.size());
        for (NDArray a : arrays) {
            out.add(move(a, device, training));
        }
        return out;
    }

    /**
     * The array itself when it is on the device, else a copy there. DJL's {@code toDevice} runs PyTorch's {@code to}
     * with gradients off, which would cut the graph at every boundary, so in training the copy is made as {@code
     * zeros.set("...", a)}: PyTorch's {@code copy_}, which autograd records across devices (the gradient goes back
     * to {@code a}'s device). The choice goes by the training flag, not by {@code a.hasGradient()}: DJL's PyTorch
     * engine answers that for leaves only, so it is false for every activation.
     */
    static NDArray move(NDArray a, Device device, boolean training) {
        if (a.getDevice().equals(device)) {
            return a;
        }
        if (!training) {
            return a.toDevice(device, false);
        }
        NDArray moved = a.getManager().zeros(a.getShape(), a.getDataType(), device);
        moved.set(new NDIndex("..."), a);
        moved.setName(a.getName());
        return moved;
    }

    /** Our own store for inference; a training forward must come from {@link PlacedTrainer}. */
    private static ParameterStore storeFor(ParameterStore given, boolean training) {
        if (given instanceof PlacedParameterStore) {
            return given;
        }
        if (training) {
            throw new IllegalStateException("a PlacedBlock trains only through placed.newTrainer(model, config): DJL's"
                    + " Trainer copies every parameter to each training device and would update the copies");
        }
        return new PlacedParameterStore(given.getManager(), null);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape[] x = inputShapes;
        for (Block part : parts) {
            x = part.getOutputShapes(x);
        }
        return x;
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        // Parameters are initialised and placed already (DJL keeps initialised values); this only records shapes.
        model.initialize(manager, dataType, inputShapes);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("PlacedBlock(");
        for (int i = 0; i < parts.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(names.get(i)).append(" -> ").append(devices.get(i));
        }
        return sb.append(')').toString();
    }
}
