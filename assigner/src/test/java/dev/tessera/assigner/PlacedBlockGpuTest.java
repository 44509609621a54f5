package dev.tessera.assigner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.ParameterStore;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.TrainingConfig;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Needs CUDA: run with ./tessera test -Pgpu on a CUDA runner; skipped without a GPU. */
@Tag("gpu")
class PlacedBlockGpuTest {
    private static final Device GPU = Device.gpu(0);
    private static final Device CPU = Device.cpu();
    /** The seven parts of {@link PlacedBlockTest#cnn()}: convolution and batch norm on the GPU, then back and forth. */
    private static final List<Device> SPLIT = List.of(GPU, GPU, CPU, CPU, GPU, CPU, GPU);

    private static TrainingConfig sgd() {
        return PlacedBlockTest.config(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.05f)).build());
    }

    @BeforeEach
    void needsGpu() {
        assumeTrue(Devices.hasGpu(), "no CUDA device visible to DJL");
    }

    @Test
    void partsAndTheirParametersMoveOnceAndActivationsCrossBothWays() {
        try (NDManager manager = NDManager.newBaseManager(CPU)) {
            SequentialBlock[] twins = PlacedBlockTest.twins(manager);
            PlacedBlock placed = PlacedBlock.of(twins[1], SPLIT);
            for (int i = 0; i < SPLIT.size(); i++) {
                for (Parameter p : twins[1].getChildren().get(i).getValue().getParameters().values()) {
                    assertEquals(SPLIT.get(i), p.getArray().getDevice(), p.getName());
                }
            }
            Engine.getInstance().setRandomSeed(3);
            NDArray x = manager.randomUniform(-1, 1, PlacedBlockTest.INPUT);
            NDArray expected = twins[0].forward(new ParameterStore(manager, false), new NDList(x), false).head();
            NDArray actual = placed.forward(new ParameterStore(manager, false), new NDList(x), false).head();
            assertEquals(CPU, actual.getDevice(), "the output comes back to the input's device");
            assertEquals(0, expected.sub(actual).abs().max().getFloat(), 1e-4);
        }
    }

    /**
     * One backward pass: every parameter's gradient, on its own device, equals the CPU model's (first H200 run: within
     * 2.4e-6 of gradients up to 24). DJL's {@code toDevice} would cut the graph at each boundary, leaving every part
     * before the last boundary without a gradient.
     */
    @Test
    void gradientsCrossEveryBoundaryBothWays() {
        try (NDManager manager = NDManager.newBaseManager(CPU)) {
            SequentialBlock[] twins = PlacedBlockTest.twins(manager);
            PlacedBlock placed = PlacedBlock.of(twins[1], SPLIT);
            Engine.getInstance().setRandomSeed(5);
            NDArray x = manager.randomUniform(-1, 1, PlacedBlockTest.INPUT);
            NDArray y = manager.randomUniform(-1, 1, new Shape(8, 3));
            try (GradientCollector c = Engine.getInstance().newGradientCollector()) {
                NDArray out = twins[0].forward(new ParameterStore(manager, false), new NDList(x), true).head();
                c.backward(out.sub(y).square().sum());
            }
            try (GradientCollector c = Engine.getInstance().newGradientCollector()) {
                NDArray out = placed.forward(new PlacedParameterStore(manager, null), new NDList(x), true).head();
                assertEquals(CPU, out.getDevice());
                c.backward(out.sub(y).square().sum());
            }
            List<String> names = twins[0].getParameters().keys();
            List<Parameter> pa = twins[0].getParameters().values();
            List<Parameter> pb = twins[1].getParameters().values();
            StringBuilder report = new StringBuilder();
            boolean ok = true;
            for (int i = 0; i < pa.size(); i++) {
                if (!pa.get(i).requiresGradient()) {
                    continue; // batch norm's running statistics
                }
                try (NDArray ga = pa.get(i).getArray().getGradient();
                        NDArray gb0 = pb.get(i).getArray().getGradient();
                        NDArray gb = gb0.toDevice(CPU, true)) {
                    float scale = ga.abs().max().getFloat();
                    float diff = ga.sub(gb).abs().max().getFloat();
                    report.append(names.get(i)).append(" on ").append(gb0.getDevice()).append(": |g| ").append(scale)
                            .append(", diff ").append(diff).append("; ");
                    ok &= diff <= 1e-4f * Math.max(scale, 1f); // the conv bias under batch norm: |g| ~5e-7, rounding noise
                }
            }
            assertTrue(ok, report.toString());
        }
    }

    /**
     * Plain SGD, not the CPU test's Adam: the convolution's bias feeds a batch norm, so its true gradient is zero and
     * what reaches it is rounding noise, which differs between cuDNN and the CPU; Adam divides by the gradient's own
     * scale and turns that noise into full steps of +-lr (the first H200 run: 0.095 apart after 12 steps of 0.01),
     * where SGD keeps it at the noise's size.
     */
    @Test
    void trainsAcrossCudaAndTheCpuToTheParametersOfTheModelTrainedOnTheCpu() throws Exception {
        try (NDManager manager = NDManager.newBaseManager(CPU)) {
            SequentialBlock[] twins = PlacedBlockTest.twins(manager);
            var data = PlacedBlockTest.data(manager);
            SequentialBlock start = PlacedBlockTest.twins(manager)[0];
            PlacedBlockTest.copyParameters(twins[0], start);
            try (Model m = Model.newInstance("cpu", CPU)) {
                m.setBlock(twins[0]);
                try (Trainer t = m.newTrainer(sgd())) {
                    PlacedBlockTest.train(t, data, 3);
                }
            }
            PlacedBlock placed = PlacedBlock.of(twins[1], SPLIT);
            try (Model m = Model.newInstance("split", CPU)) {
                m.setBlock(placed);
                try (Trainer t = placed.newTrainer(m, sgd())) {
                    assertEquals(List.of(GPU), List.of(t.getDevices()), "batches go to the first part's device");
                    PlacedBlockTest.train(t, data, 3);
                }
            }
            // every part kept its device, and each one learned what the CPU-only model learned
            Parameter lastWeight = twins[1].getChildren().get(6).getValue().getParameters().get("weight");
            assertEquals(GPU, lastWeight.getArray().getDevice());
            Map<String, Float> diffs = PlacedBlockTest.differences(twins[0], twins[1]);
            float diff = PlacedBlockTest.maxDifference(twins[0], twins[1]);
            assertTrue(diff < 1e-3, "parameter differences between the CPU run and the split run: " + diffs
                    + "; change by training, CPU run: " + PlacedBlockTest.differences(start, twins[0])
                    + "; split run: " + PlacedBlockTest.differences(start, twins[1]));
            assertTrue(diffs.values().stream().allMatch(Float::isFinite), diffs.toString());
            float learned = PlacedBlockTest.maxDifference(start, twins[0]);
            assertTrue(learned > 0.01, "training moved no parameter by more than 0.01: " + learned);
        }
    }
}
