package dev.tessera.assigner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.basicmodelzoo.cv.classification.ResNetV1;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.training.ParameterStore;
import java.util.List;
import org.junit.jupiter.api.Test;

class ModelSizeEstimatorTest {

    @Test
    void countsParametersAndRunningStatisticsOfAHandBuiltNetwork() {
        try (NDManager manager = NDManager.newBaseManager()) {
            SequentialBlock net = new SequentialBlock()
                    .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).setFilters(8).build())
                    .add(BatchNorm.builder().build())
                    .add(Blocks.batchFlattenBlock())
                    .add(Linear.builder().setUnits(10).build());
            net.initialize(manager, DataType.FLOAT32, new Shape(1, 3, 6, 6));
            // conv: 8*3*3*3 + 8 = 224; batch norm: gamma, beta, running mean, running var = 4*8 = 32;
            // linear: input 8*4*4 = 128 -> 10: 1280 + 10 = 1290. Total 1546 float32 = 6184 bytes.
            assertEquals(6184, ModelSizeEstimator.bytes(net));
            assertEquals(6184 / 1048576.0, ModelSizeEstimator.sizeMb(net), 1e-15);
            assertEquals(2 * 6184 / 1048576.0, ModelSizeEstimator.estimateMb(net, 2), 1e-15);
        }
    }

    @Test
    void sizesASmallResNetBuiltWithDjlsBuilders() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Block resnet = ResNetV1.builder().setImageShape(new Shape(3, 32, 32)).setNumLayers(18).setOutSize(10).build();
            resnet.initialize(manager, DataType.FLOAT32, new Shape(1, 3, 32, 32));
            long expected = 0;
            for (Parameter p : resnet.getParameters().values()) {
                expected += p.getArray().size() * 4;
            }
            assertEquals(expected, ModelSizeEstimator.bytes(resnet));
            assertTrue(expected > 1_000_000, "a ResNet-18 has millions of parameters: " + expected / 4);
            // A forward pass must not change the size (activations are not kept by the block).
            resnet.forward(new ParameterStore(manager, false), new ai.djl.ndarray.NDList(manager.ones(new Shape(1, 3, 32, 32))), false);
            assertEquals(expected, ModelSizeEstimator.bytes(resnet));
        }
    }

    @Test
    void countsBytesByDataType() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Block linear = Linear.builder().setUnits(4).build();
            linear.initialize(manager, DataType.FLOAT32, new Shape(1, 8));
            long f32 = ModelSizeEstimator.bytes(linear);
            assertEquals((8 * 4 + 4) * 4, f32);
            Block half = Linear.builder().setUnits(4).build();
            half.initialize(manager, DataType.FLOAT16, new Shape(1, 8));
            assertEquals(f32 / 2, ModelSizeEstimator.bytes(half));
        }
    }

    @Test
    void blocksPlacedByTheAssignerMoveToTheirDevice() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Block a = Linear.builder().setUnits(4).build();
            a.initialize(manager, DataType.FLOAT32, new Shape(1, 8));
            float before = a.getParameters().get(0).getValue().getArray().sum().getFloat();
            Placement p = ModelAssigner.builder()
                    .addBlock("a", a)
                    .setDevices(List.of(DeviceSpec.cpu(1024)))
                    .optIterations(5)
                    .build()
                    .moveModels();
            assertEquals("cpu", p.assignment().get(0).name());
            for (Parameter param : a.getParameters().values()) {
                assertEquals(ai.djl.Device.cpu(), param.getArray().getDevice());
            }
            assertEquals(before, a.getParameters().get(0).getValue().getArray().sum().getFloat());
        }
    }
}
