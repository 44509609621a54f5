package dev.tessera.assigner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link ModelAssigner.Builder#build()} copies what it needs: the builder can change afterwards. */
class BuilderSnapshotTest {
    private static ModelAssigner.Builder threeModels() {
        return ModelAssigner.builder()
                .addModel("a", 300, 1).addModel("b", 300, 2).addModel("c", 300, 3)
                .connect("a", "b", 1).connect("b", "c", 2)
                .setDevices(List.of(DeviceSpec.gpu(0, 1000), DeviceSpec.gpu(1, 1000), DeviceSpec.cpu(4000)))
                .optModelSizeMultiplier(1).optCpuWeight(0.1).optIterations(50).optSeed(3);
    }

    @Test
    void changingTheBuilderAfterBuildDoesNotChangeThePlacement() {
        Placement untouched = threeModels().build().placement();

        ModelAssigner.Builder b = threeModels();
        ModelAssigner built = b.build();
        b.addModel("d", 500).connect("a", "d", 5)
                .setDevices(List.of(DeviceSpec.cpu(100_000), DeviceSpec.gpu(7, 50)))
                .optDistance(new double[][] {{0, 3}, {3, 0}})
                .optSeed(99).optMaxMemRatio(1).optModelSizeMultiplier(2).optIterations(0)
                .optMethod(PlacementMethod.GRADIENT);
        Placement p = built.placement();

        assertEquals(List.of("a", "b", "c"), p.models());
        assertEquals(untouched.devices(), p.devices());
        assertEquals(untouched.assignmentByName(), p.assignmentByName());
        assertEquals(untouched.cost(), p.cost());
        assertEquals(untouched.loads(), p.loads());
        assertEquals(untouched.crossings(), p.crossings());
        assertEquals(untouched.method(), p.method());
        // a second build() from the changed builder sees the changes
        assertEquals(List.of("a", "b", "c", "d"), b.build().placement().models());
    }

    @Test
    void missingRequiredValuesAreIllegalStateNamingTheSetter() {
        var noDevices = assertThrows(IllegalStateException.class, () -> ModelAssigner.builder().addModel("a", 1).build());
        assertTrue(noDevices.getMessage().contains("setDevices(...) is required"), noDevices.getMessage());
        var noModels = assertThrows(IllegalStateException.class,
                () -> ModelAssigner.builder().setDevices(List.of(DeviceSpec.cpu(1000))).build());
        assertTrue(noModels.getMessage().contains("addModel(...) or addBlock(...) is required"), noModels.getMessage());
    }
}
