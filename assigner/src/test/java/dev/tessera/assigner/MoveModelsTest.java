package dev.tessera.assigner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Getters have no side effects, moving is explicit, and DJL's own DeviceSpec type is accepted. */
class MoveModelsTest {
    private static ModelAssigner onVirtualDevice(Block block) {
        return ModelAssigner.builder()
                .addBlock("enc", block)
                .setDevices(List.of(DeviceSpec.of("tpu0", 1024)))
                .optIterations(0)
                .build();
    }

    @Test
    void gettersMoveNothingAndMoveModelsIsExplicit() {
        try (NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            Block block = Linear.builder().setUnits(4).build();
            block.initialize(manager, DataType.FLOAT32, new Shape(1, 8));
            ModelAssigner assigner = onVirtualDevice(block);
            // A virtual device has no DJL device: a getter that moved parameters would fail (or warn) here.
            assertEquals("tpu0", assigner.assignment().get(0).name());
            assertEquals("tpu0", assigner.placement().assignmentByName().get("enc"));
            var e = assertThrows(IllegalStateException.class, assigner::moveModels);
            assertTrue(e.getMessage().contains("'enc'") && e.getMessage().contains("tpu0"), e.getMessage());
            for (Parameter p : block.getParameters().values()) {
                assertEquals(ai.djl.Device.cpu(), p.getArray().getDevice());
            }
        }
    }

    @Test
    void moveModelsRefusesAGpuDjlDoesNotSeeAndMovesNothingThen() {
        try (NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            int gpus = ai.djl.engine.Engine.getInstance().getGpuCount();
            Block a = Linear.builder().setUnits(4).build();
            a.initialize(manager, DataType.FLOAT32, new Shape(1, 8));
            Block b = Linear.builder().setUnits(4).build();
            b.initialize(manager, DataType.FLOAT32, new Shape(1, 8));
            ModelAssigner assigner = ModelAssigner.builder().addBlock("a", a).addBlock("b", b)
                    .setDevices(List.of(DeviceSpec.gpu(gpus, 1))).optMaxMemRatio(1).optIterations(0).build();
            var e = assertThrows(IllegalStateException.class, assigner::moveModels);
            assertTrue(e.getMessage().contains("does not see") && e.getMessage().contains("gpu(" + gpus + ")"), e.getMessage());
            assertEquals(ai.djl.Device.cpu(), a.getParameters().get("weight").getArray().getDevice());
        }
    }

    @Test
    void acceptsDjlDevices() {
        assertEquals(DeviceSpec.gpu(2, 100), DeviceSpec.of(ai.djl.Device.gpu(2), 100));
        assertEquals(DeviceSpec.cpu(100), DeviceSpec.of(ai.djl.Device.cpu(), 100));
        Placement p = ModelAssigner.builder().addModel("a", 1).addModel("b", 1).connect("a", "b", 1)
                .setDevices(List.of(DeviceSpec.of(ai.djl.Device.gpu(0), 1), DeviceSpec.of(ai.djl.Device.cpu(), 1)))
                .optModelSizeMultiplier(1).optMaxMemRatio(1).optCpuWeight(1).optIterations(0).build().placement();
        assertEquals(2, p.djlAssignment().size());
        assertTrue(p.djlAssignment().containsAll(List.of(ai.djl.Device.gpu(0), ai.djl.Device.cpu())), p.toString());
        var e = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.of(ai.djl.Device.of("tpu", 0), 1));
        assertTrue(e.getMessage().contains("tpu"), e.getMessage());
        Placement virtual = ModelAssigner.builder().addModel("a", 1).setDevices(List.of(DeviceSpec.of("tpu0", 10)))
                .optIterations(0).build().placement();
        var v = assertThrows(IllegalStateException.class, virtual::djlAssignment);
        assertTrue(v.getMessage().contains("'a'") && v.getMessage().contains("tpu0"), v.getMessage());
    }
}
