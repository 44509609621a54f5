package dev.tessera.assigner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Blocks;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.TrainingConfig;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A PlacedBlock on the CPU: the same forward, the same training, and clear refusals. */
class PlacedBlockTest {
    static final Shape INPUT = new Shape(8, 1, 6, 6);

    /** A small CNN with a batch norm (running statistics: parameters without gradients) and two dense layers. */
    static SequentialBlock cnn() {
        return new SequentialBlock()
                .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).setFilters(4).build())
                .add(BatchNorm.builder().build())
                .add(Activation.reluBlock())
                .add(Blocks.batchFlattenBlock())
                .add(Linear.builder().setUnits(16).build())
                .add(Activation.reluBlock())
                .add(Linear.builder().setUnits(3).build());
    }

    /** Two initialised copies of {@link #cnn()} with equal parameters. */
    static SequentialBlock[] twins(NDManager manager) {
        SequentialBlock a = cnn();
        SequentialBlock b = cnn();
        a.initialize(manager, DataType.FLOAT32, INPUT);
        b.initialize(manager, DataType.FLOAT32, INPUT);
        copyParameters(a, b);
        return new SequentialBlock[] {a, b};
    }

    /** Copies every parameter value of {@code from} into the equal-shaped {@code to}. */
    static void copyParameters(SequentialBlock from, SequentialBlock to) {
        List<Parameter> pa = from.getParameters().values();
        List<Parameter> pb = to.getParameters().values();
        for (int i = 0; i < pa.size(); i++) {
            pa.get(i).getArray().copyTo(pb.get(i).getArray());
        }
    }

    static TrainingConfig config() {
        return config(Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.01f)).build());
    }

    static TrainingConfig config(Optimizer optimizer) {
        return new DefaultTrainingConfig(Loss.l2Loss()).optOptimizer(optimizer).optDevices(new Device[] {Device.cpu()});
    }

    static ArrayDataset data(NDManager manager) {
        Engine.getInstance().setRandomSeed(7);
        NDArray x = manager.randomUniform(-1, 1, new Shape(32, 1, 6, 6));
        NDArray y = manager.randomUniform(-1, 1, new Shape(32, 3));
        return new ArrayDataset.Builder().setData(x).optLabels(y).setSampling(8, false).build();
    }

    /** Largest absolute difference between the parameters of two equal-shaped blocks (moved to the CPU to compare). */
    static float maxDifference(SequentialBlock a, SequentialBlock b) {
        return differences(a, b).values().stream().reduce(0f, Math::max);
    }

    /** The largest absolute difference of each parameter (by its path in the block) between two equal-shaped blocks. */
    static Map<String, Float> differences(SequentialBlock a, SequentialBlock b) {
        List<String> names = a.getParameters().keys();
        List<Parameter> pa = a.getParameters().values();
        List<Parameter> pb = b.getParameters().values();
        Map<String, Float> out = new LinkedHashMap<>();
        for (int i = 0; i < pa.size(); i++) {
            try (NDArray x = pa.get(i).getArray().toDevice(Device.cpu(), true);
                    NDArray y = pb.get(i).getArray().toDevice(Device.cpu(), true);
                    NDArray d = x.sub(y).abs().max()) {
                out.put(names.get(i), d.getFloat());
            }
        }
        return out;
    }

    static void train(Trainer trainer, ArrayDataset data, int epochs) throws Exception {
        trainer.initialize(INPUT);
        EasyTrain.fit(trainer, epochs, data, null);
    }

    @Test
    void trainsToTheSameParametersAsTheUnwrappedModel() throws Exception {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            SequentialBlock[] twins = twins(manager);
            SequentialBlock plain = twins[0];
            SequentialBlock wrapped = twins[1];
            SequentialBlock initial = twins(manager)[0];
            plain.getParameters().values().get(0).getArray().copyTo(initial.getParameters().values().get(0).getArray());
            ArrayDataset data = data(manager);

            try (Model m = Model.newInstance("plain", Device.cpu()); Trainer t = trainerFor(m, plain)) {
                train(t, data, 3); // 4 batches x 3 epochs = 12 Adam steps
            }
            PlacedBlock placed = PlacedBlock.of(wrapped, Collections.nCopies(7, Device.cpu()));
            try (Model m = Model.newInstance("placed", Device.cpu())) {
                m.setBlock(placed);
                try (Trainer t = placed.newTrainer(m, config())) {
                    train(t, data, 3);
                }
            }
            float moved = Math.abs(plain.getParameters().values().get(0).getArray().sub(
                    initial.getParameters().values().get(0).getArray()).abs().max().getFloat());
            assertTrue(moved > 1e-3, "training changed the first weight by " + moved);
            assertEquals(0, maxDifference(plain, wrapped), 1e-6);
            // running statistics (updated in the forward pass, no gradient) match too
            assertEquals(plain.getChildren().get(1).getValue().getParameters().get("runningMean").getArray().getFloat(0),
                    wrapped.getChildren().get(1).getValue().getParameters().get("runningMean").getArray().getFloat(0), 1e-6);
        }
    }

    private static Trainer trainerFor(Model m, SequentialBlock block) {
        m.setBlock(block);
        return m.newTrainer(config());
    }

    @Test
    void inferenceThroughAnyParameterStoreMatchesTheModel() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            SequentialBlock[] twins = twins(manager);
            PlacedBlock placed = PlacedBlock.of(twins[1], Collections.nCopies(7, Device.cpu()));
            Engine.getInstance().setRandomSeed(3);
            NDArray x = manager.randomUniform(-1, 1, INPUT);
            NDArray expected = twins[0].forward(new ParameterStore(manager, false), new NDList(x), false).head();
            NDArray actual = placed.forward(new ParameterStore(manager, false), new NDList(x), false).head();
            assertEquals(new Shape(8, 3), actual.getShape());
            assertEquals(0, expected.sub(actual).abs().max().getFloat(), 1e-6);
            assertEquals(List.of(new Shape(8, 3)), List.of(placed.getOutputShapes(new Shape[] {INPUT})));
            assertSame(twins[1], placed.model());
            assertEquals(7, placed.partNames().size());
        }
    }

    @Test
    void djlsOwnTrainerIsRefusedNamingNewTrainer() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu());
                Model m = Model.newInstance("plain-trainer", Device.cpu())) {
            PlacedBlock placed = PlacedBlock.of(twins(manager)[0], Collections.nCopies(7, Device.cpu()));
            m.setBlock(placed);
            try (Trainer t = m.newTrainer(config())) {
                var e = assertThrows(IllegalStateException.class, () -> train(t, data(manager), 1));
                assertTrue(e.getMessage().contains("newTrainer"), e.getMessage());
            }
            try (Model other = Model.newInstance("other", Device.cpu())) {
                var e = assertThrows(IllegalArgumentException.class, () -> placed.newTrainer(other, config()));
                assertTrue(e.getMessage().contains("setBlock"), e.getMessage());
            }
        }
    }

    @Test
    void placesEachChildWhereThePlacementFromItsGraphSays() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            SequentialBlock net = cnn();
            ModelGraph graph = ModelGraph.builder().setModel(net).setInputShape(INPUT).optInitializeOn(manager).build();
            Placement p = ModelAssigner.builder().addGraph(graph)
                    .setDevices(List.of(DeviceSpec.cpu(1024))).optIterations(0).build().placement();
            PlacedBlock placed = PlacedBlock.of(net, p);
            assertEquals(graph.names(), placed.partNames());
            assertEquals(Collections.nCopies(7, Device.cpu()), placed.devices());
            assertTrue(placed.toString().contains("01Conv2d -> cpu()"), placed.toString());
        }
    }

    @Test
    void refusesWhatItCannotRunNamingThePart() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            var uninit = assertThrows(IllegalArgumentException.class,
                    () -> PlacedBlock.of(cnn(), Collections.nCopies(7, Device.cpu())));
            assertTrue(uninit.getMessage().contains("'01Conv2d'"), uninit.getMessage());
            SequentialBlock net = twins(manager)[0];
            var count = assertThrows(IllegalArgumentException.class, () -> PlacedBlock.of(net, List.of(Device.cpu())));
            assertTrue(count.getMessage().contains("1 entries for 7 children"), count.getMessage());
            int gpus = Engine.getInstance().getGpuCount();
            List<Device> beyond = new java.util.ArrayList<>(Collections.nCopies(7, Device.cpu()));
            beyond.set(4, Device.gpu(gpus));
            var unseen = assertThrows(IllegalStateException.class, () -> PlacedBlock.of(net, beyond));
            assertTrue(unseen.getMessage().contains("'05Linear'") && unseen.getMessage().contains("does not see"),
                    unseen.getMessage());
            // a placement on a virtual device has no DJL device
            ModelGraph graph = ModelGraph.of(net, INPUT);
            Placement virtual = ModelAssigner.builder().addGraph(graph)
                    .setDevices(List.of(DeviceSpec.of("tpu0", 1024))).optIterations(0).build().placement();
            var v = assertThrows(IllegalStateException.class, () -> PlacedBlock.of(net, virtual));
            assertTrue(v.getMessage().contains("tpu0") && v.getMessage().contains("'01Conv2d'"), v.getMessage());
            Placement other = ModelAssigner.builder().addModel("x", 1)
                    .setDevices(List.of(DeviceSpec.cpu(1024))).optIterations(0).build().placement();
            var missing = assertThrows(IllegalArgumentException.class, () -> PlacedBlock.of(net, other));
            assertTrue(missing.getMessage().contains("'01Conv2d'"), missing.getMessage());
        }
    }
}
