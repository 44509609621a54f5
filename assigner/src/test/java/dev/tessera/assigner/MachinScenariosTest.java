package dev.tessera.assigner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The scenarios of machin's own ModelAssigner tests, with the answers machin intends. */
class MachinScenariosTest {
    private static ModelAssigner.Builder twoConnectedModels() {
        return ModelAssigner.builder()
                .addModel("a", 10)
                .addModel("b", 10)
                .connect("a", "b", 1)
                .setDevices(List.of(DeviceSpec.gpu(0, 1000), DeviceSpec.gpu(1, 1000), DeviceSpec.cpu(4000)))
                .optCpuWeight(0.1)
                .optIterations(200);
    }

    @Test
    void complexityMatchSplitsModelsAcrossGpus() {
        Placement p = twoConnectedModels().optComplexityMatchWeight(10).optConnectionWeight(1).build().placement();
        List<DeviceSpec> a = p.assignment();
        assertTrue(a.get(0).isGpu() && a.get(1).isGpu(), "both on GPUs: " + a);
        assertNotEquals(a.get(0), a.get(1), "split across the GPUs: " + a);
    }

    @Test
    void heavyConnectionKeepsModelsTogether() {
        Placement p = twoConnectedModels().optComplexityMatchWeight(1).optConnectionWeight(10).build().placement();
        List<DeviceSpec> a = p.assignment();
        assertEquals(a.get(0), a.get(1), "share one device: " + a);
        assertTrue(a.get(0).isGpu(), "on a GPU: " + a);
    }

    @Test
    void modelsThatDoNotFitTogetherMustSplit() {
        Placement p = ModelAssigner.builder()
                .addModel("a", 600)
                .addModel("b", 600)
                .connect("a", "b", 100)
                .setDevices(List.of(DeviceSpec.gpu(0, 700), DeviceSpec.gpu(1, 700)))
                .optModelSizeMultiplier(1)
                .optMaxMemRatio(1)
                .optIterations(100)
                .build()
                .placement();
        assertNotEquals(p.assignment().get(0), p.assignment().get(1));
        assertTrue(p.feasible(), p.violations().toString());
        assertEquals(0.0, p.cost().overflowMb());
    }
}
