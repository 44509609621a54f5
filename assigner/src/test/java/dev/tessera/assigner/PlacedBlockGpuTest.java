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
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import java.util.List;
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

    @Test
    void trainsAcrossCudaAndTheCpuToTheParametersOfTheModelTrainedOnTheCpu() throws Exception {
        try (NDManager manager = NDManager.newBaseManager(CPU)) {
            SequentialBlock[] twins = PlacedBlockTest.twins(manager);
            var data = PlacedBlockTest.data(manager);
            try (Model m = Model.newInstance("cpu", CPU)) {
                m.setBlock(twins[0]);
                try (Trainer t = m.newTrainer(PlacedBlockTest.config())) {
                    PlacedBlockTest.train(t, data, 3);
                }
            }
            PlacedBlock placed = PlacedBlock.of(twins[1], SPLIT);
            try (Model m = Model.newInstance("split", CPU)) {
                m.setBlock(placed);
                try (Trainer t = placed.newTrainer(m, PlacedBlockTest.config())) {
                    assertEquals(List.of(GPU), List.of(t.getDevices()), "batches go to the first part's device");
                    PlacedBlockTest.train(t, data, 3);
                }
            }
            // every part kept its device, and each one learned what the CPU-only model learned
            Parameter lastWeight = twins[1].getChildren().get(6).getValue().getParameters().get("weight");
            assertEquals(GPU, lastWeight.getArray().getDevice());
            float diff = PlacedBlockTest.maxDifference(twins[0], twins[1]);
            assertTrue(diff < 1e-3, "largest parameter difference between the CPU run and the split run: " + diff);
        }
    }
}
