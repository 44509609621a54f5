package dev.tessera.assigner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Needs CUDA: run with ./tessera test -Pgpu on a CUDA runner; skipped without a GPU. */
@Tag("gpu")
class GpuPlacementTest {
    @BeforeEach
    void needsGpu() {
        assumeTrue(Devices.hasGpu(), "no CUDA device visible to DJL");
    }

    @Test
    void detectsEveryGpuWithFreeMemoryAndTheCpu() {
        List<DeviceSpec> devices = Devices.detect();
        assertTrue(devices.get(0).isGpu() && devices.get(0).memoryMb() > 0, devices.toString());
        assertEquals("cpu", devices.get(devices.size() - 1).name());
    }

    @Test
    void gradientPhaseRunsOnCudaAndMovesBlocksThere() {
        try (NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            Block a = Linear.builder().setUnits(64).build();
            a.initialize(manager, DataType.FLOAT32, new Shape(1, 64));
            ModelAssigner assigner = ModelAssigner.builder()
                    .addBlock("a", a)
                    .addModel("b", 1)
                    .connect(0, 1, 1)
                    .setDevices(List.of(DeviceSpec.gpu(0, 1024), DeviceSpec.cpu(1024)))
                    .optComputeDevice(ai.djl.Device.gpu(0))
                    .build();
            Placement p = assigner.placement();
            assertEquals("cuda:0", p.assignment().get(0).name());
            for (Parameter param : a.getParameters().values()) {
                assertEquals(ai.djl.Device.cpu(), param.getArray().getDevice(), "placement() must not move anything");
            }
            assigner.moveModels();
            for (Parameter param : a.getParameters().values()) {
                assertEquals(ai.djl.Device.gpu(0), param.getArray().getDevice());
            }
        }
    }
}
