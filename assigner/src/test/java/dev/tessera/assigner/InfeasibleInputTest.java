package dev.tessera.assigner;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class InfeasibleInputTest {
    private static ModelAssigner.Builder base() {
        return ModelAssigner.builder().optModelSizeMultiplier(1).optMaxMemRatio(1).optIterations(20);
    }

    @Test
    void divergingGradientIsAPlacementDivergedExceptionNamingTheLoss() {
        // sizes near the top of the double range overflow the float loss: the descent must stop, not go on (the
        // gradient method, since a refined run enumerates two models without a gradient phase)
        var e = assertThrows(PlacementDivergedException.class, () -> base().optMethod(PlacementMethod.GRADIENT)
                .addModel("a", 1e307).addModel("b", 1e307)
                .connect("a", "b", 1)
                .setDevices(List.of(DeviceSpec.gpu(0, 1e308), DeviceSpec.gpu(1, 1e308)))
                .build().placement());
        assertTrue(e.getMessage().contains("diverged") && e.getMessage().contains("updateRate"), e.getMessage());
        assertTrue(e instanceof PlacementException);
    }

    @Test
    void totalDemandAboveTotalCapacityNamesBothNumbers() {
        var e = assertThrows(PlacementInfeasibleException.class, () -> base()
                .addModel("a", 600).addModel("b", 600)
                .setDevices(List.of(DeviceSpec.gpu(0, 700), DeviceSpec.gpu(1, 400)))
                .build().placement());
        assertTrue(e.getMessage().contains("1200.0") && e.getMessage().contains("1100.0"), e.getMessage());
    }

    @Test
    void modelLargerThanEveryDeviceIsNamed() {
        var e = assertThrows(PlacementInfeasibleException.class, () -> base()
                .addModel("small", 10).addModel("huge", 900)
                .setDevices(List.of(DeviceSpec.gpu(0, 800), DeviceSpec.gpu(1, 800)))
                .build().placement());
        assertTrue(e.getMessage().contains("'huge'") && e.getMessage().contains("900.0") && e.getMessage().contains("800.0"),
                e.getMessage());
    }

    @Test
    void balanceThatCannotBeMetSaysSo() {
        // All power on the CPU side is 0: a model with complexity can go nowhere.
        var e = assertThrows(PlacementInfeasibleException.class, () -> base()
                .addModel("a", 1, 5)
                .setDevices(List.of(DeviceSpec.cpu(100)))
                .optBalanceTolerance(0.5)
                .build().placement());
        assertTrue(e.getMessage().contains("balance"), e.getMessage());
    }

    @Test
    void zeroPowerFromTheDefaultCpuWeightIsNamedInTheMessage() {
        // The trial: a CPU-only machine, the default cpuWeight 0, and a balance tolerance.
        var e = assertThrows(PlacementInfeasibleException.class, () -> base()
                .addModel("a", 1, 5).addModel("b", 1, 5)
                .setDevices(List.of(DeviceSpec.cpu(100)))
                .optBalanceTolerance(0.5)
                .build().placement());
        assertTrue(e.getMessage().contains("cpuWeight=0.0") && e.getMessage().contains("optCpuWeight"), e.getMessage());
        // An explicit power 0 is the caller's own choice: cpuWeight is not the cause then, so it is not named.
        var explicit = assertThrows(PlacementInfeasibleException.class, () -> base()
                .addModel("a", 1, 5)
                .setDevices(List.of(DeviceSpec.cpu(100).withPower(0)))
                .optBalanceTolerance(0.5)
                .build().placement());
        assertFalse(explicit.getMessage().contains("cpuWeight"), explicit.getMessage());
        // With a CPU weight the same problem is placed.
        assertTrue(base().addModel("a", 1, 5).addModel("b", 1, 5).setDevices(List.of(DeviceSpec.cpu(100)))
                .optBalanceTolerance(0.5).optCpuWeight(1).build().placement().feasible());
    }

    @Test
    void packingNoHeuristicCanSolveIsStillAnExceptionNotABrokenPlacement() {
        // Three 60 MB models, two devices of 100 MB: total fits (180 <= 200) but no device takes two.
        var e = assertThrows(PlacementInfeasibleException.class, () -> base()
                .addModel("a", 60).addModel("b", 60).addModel("c", 60)
                .setDevices(List.of(DeviceSpec.gpu(0, 100), DeviceSpec.gpu(1, 100)))
                .build().placement());
        assertTrue(e.getMessage().contains("no placement found"), e.getMessage());
    }

    @Test
    void gradientMethodReportsViolationsInsteadOfRepairing() {
        ModelAssigner.Builder b = base()
                .addModel("a", 300).addModel("b", 300).addModel("c", 300)
                .connect("a", "b", 100).connect("b", "c", 100)
                .setDevices(List.of(DeviceSpec.gpu(0, 700), DeviceSpec.gpu(1, 700)))
                .optComplexityMatchWeight(0);
        Placement machin = b.optMethod(PlacementMethod.GRADIENT).build().placement();
        assertFalse(machin.feasible(), "argmax alone keeps connected models together: " + machin);
        assertTrue(machin.cost().overflowMb() > 0);
        Placement refined = b.optMethod(PlacementMethod.REFINED).build().placement();
        assertTrue(refined.feasible(), refined.violations().toString());
    }

    @Test
    void builderRejectsBadOptionsWithTheValue() {
        var e = assertThrows(IllegalArgumentException.class, () -> ModelAssigner.builder().optMaxMemRatio(1.5));
        assertTrue(e.getMessage().contains("maxMemRatio=1.5"), e.getMessage());
        var dup = assertThrows(IllegalArgumentException.class, () -> ModelAssigner.builder().addModel("x", 1).addModel("x", 2));
        assertTrue(dup.getMessage().contains("'x'"), dup.getMessage());
        var conn = assertThrows(IllegalArgumentException.class, () -> ModelAssigner.builder().addModel("x", 1).connect("x", "y", 1));
        assertTrue(conn.getMessage().contains("'y'"), conn.getMessage());
        var neg = assertThrows(IllegalArgumentException.class, () -> ModelAssigner.builder().addModel("x", -1));
        assertTrue(neg.getMessage().contains("-1.0"), neg.getMessage());
        var nan = assertThrows(IllegalArgumentException.class, () -> ModelAssigner.builder().addModel("x", Double.NaN));
        assertTrue(nan.getMessage().contains("NaN"), nan.getMessage());
    }

    @Test
    void builderRejectsASelfLoopByNameAndByIndex() {
        var byName = assertThrows(IllegalArgumentException.class,
                () -> ModelAssigner.builder().addModel("a", 1).addModel("b", 1).connect("b", "b", 10));
        assertTrue(byName.getMessage().contains("'b' -> 'b'") && byName.getMessage().contains("self-loop"), byName.getMessage());
        var byIndex = assertThrows(IllegalArgumentException.class,
                () -> ModelAssigner.builder().addModel("a", 1).addModel("b", 1).connect(0, 0, 10));
        assertTrue(byIndex.getMessage().contains("'a' -> 'a'"), byIndex.getMessage());
    }
}
