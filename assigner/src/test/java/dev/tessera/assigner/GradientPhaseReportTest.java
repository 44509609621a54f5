package dev.tessera.assigner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * What {@link Placement#gradientPhase()} reports: skipped on a problem small enough to enumerate (with the
 * enumeration's optimum), run by the gradient method regardless, and stopped early on a problem where it converges.
 */
class GradientPhaseReportTest {
    private static ModelAssigner.Builder threeModels() {
        return ModelAssigner.builder()
                .addModel("a", 300)
                .addModel("b", 500)
                .addModel("c", 200)
                .connect("a", "b", 3)
                .connect("b", "c", 1)
                .setDevices(List.of(DeviceSpec.gpu(0, 1600), DeviceSpec.gpu(1, 1600), DeviceSpec.cpu(4000)));
    }

    @Test
    void aProblemSmallEnoughToEnumerateSkipsTheGradientPhase() {
        Placement p = threeModels().build().placement();
        assertEquals(0, p.gradientPhase().steps());
        assertEquals(500, p.gradientPhase().maxSteps());
        assertEquals("skipped: 27 placements searched exhaustively (optimal)", p.gradientPhase().summary());
        assertTrue(p.feasible(), p.violations().toString());
    }

    @Test
    void theGradientMethodRunsItsPhaseEvenOnASmallProblem() {
        Placement p = threeModels().optMethod(PlacementMethod.GRADIENT).optIterations(40).build().placement();
        assertEquals(40, p.gradientPhase().steps());
        assertEquals("ran 40 of 40 steps", p.gradientPhase().summary());
    }

    @Test
    void aConvergingRunReportsTheStepItStoppedAt() {
        SplittableRandom rng = new SplittableRandom(11);
        ModelAssigner.Builder b = ModelAssigner.builder();
        for (int i = 0; i < 40; i++) {
            b.addModel("m" + i, 50 + rng.nextInt(200));
        }
        for (int i = 1; i < 40; i++) {
            b.connect(i - 1, i, 1 + rng.nextInt(9));
        }
        // a livelier learning rate than the default settles well before the last step
        Placement p = b.setDevices(Devices.virtualSet()).optUpdateRate(0.05).build().placement();
        assertTrue(p.gradientPhase().converged(), p.gradientPhase().summary());
        assertTrue(p.gradientPhase().steps() < 500, p.gradientPhase().summary());
        assertEquals("stopped at step " + p.gradientPhase().steps() + " of 500 (converged)", p.gradientPhase().summary());
        assertFalse(p.violations().iterator().hasNext());
    }

    @Test
    void aMultilevelRunReportsItsCoarseGraphItsShareOfTheStepsAndHowItsStartRanked() {
        SplittableRandom rng = new SplittableRandom(5);
        ModelAssigner.Builder b = ModelAssigner.builder();
        for (int i = 0; i < 600; i++) {
            b.addModel("m" + i, 1 + rng.nextInt(20));
        }
        for (int i = 1; i < 600; i++) {
            b.connect(i - 1, i, 1 + rng.nextInt(100));
        }
        Placement p = b.setDevices(Devices.virtualSet()).build().placement();
        assertEquals(120, p.gradientPhase().maxSteps(), "0.24 of the 500 iterations on the coarsest graph");
        String summary = p.gradientPhase().summary();
        assertTrue(summary.matches("(stopped at step \\d+|ran \\d+) of 120( steps)?( \\(converged\\))? on the \\d+-model"
                + " coarse graph, beside the search of the other starts; its start ranked \\d+ \\(1 = best\\) among the"
                + " searched starts"), summary);
        assertTrue(p.feasible(), p.violations().toString());
    }
}
