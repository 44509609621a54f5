package dev.tessera.assigner;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.assigner.internal.Problem;
import org.junit.jupiter.api.Test;

class ObjectiveTest {
    // Three models (demand 100, 200, 300; complexity 1, 2, 3) on two GPUs (power 1) and a CPU (power 0.5),
    // distances 1 between GPUs, 10 to the CPU. Edges: 0->1 volume 4, 1->2 volume 6, 2->0 volume 2.
    private final Problem problem = new Problem(
            new double[] {100, 200, 300},
            new double[] {1, 2, 3},
            new double[] {1000, 1000, 1000},
            new double[] {1, 1, 0.5},
            new double[][] {{0, 1, 10}, {1, 0, 10}, {10, 10, 0}},
            new int[] {0, 1, 2},
            new int[] {1, 2, 0},
            new double[] {4, 6, 2},
            2.0,
            1.0,
            null);

    @Test
    void communicationIsVolumeTimesDistance() {
        // 0 on gpu0, 1 on gpu1, 2 on cpu: 4*1 + 6*10 + 2*10 = 84
        assertEquals(84.0, problem.communication(new int[] {0, 1, 2}), 1e-12);
        assertEquals(0.0, problem.communication(new int[] {1, 1, 1}), 1e-12);
    }

    @Test
    void objectiveNormalisesCommunicationAndAddsSquaredShareGaps() {
        int[] a = {0, 1, 2};
        // comm term: 2 * 84 / (12 * 10) = 1.4
        // shares: complexity 1/6, 2/6, 3/6; power 1/2.5, 1/2.5, 0.5/2.5 = 0.4, 0.4, 0.2
        double gap = Math.pow(1.0 / 6 - 0.4, 2) + Math.pow(2.0 / 6 - 0.4, 2) + Math.pow(3.0 / 6 - 0.2, 2);
        assertEquals(1.4 + gap, problem.objective(a), 1e-12);
        assertEquals(gap, problem.complexityMismatch(problem.loads(a, problem.complexity)), 1e-12);
    }

    @Test
    void balanceLimitsFollowPowerShareAndLargestModel() {
        Problem balanced = new Problem(new double[] {1, 1, 1}, new double[] {1, 2, 3}, new double[] {10, 10, 10},
                new double[] {1, 1, 0}, new double[][] {{0, 1, 10}, {1, 0, 10}, {10, 10, 0}}, new int[0], new int[0],
                new double[0], 1, 0, 0.2);
        // (1 + 0.2) * 0.5 * 6 = 3.6 for each GPU (above the largest model, 3); 0 for the powerless CPU.
        assertEquals(3.6, balanced.complexityLimit[0], 1e-12);
        assertEquals(3.6, balanced.complexityLimit[1], 1e-12);
        assertEquals(0.0, balanced.complexityLimit[2], 1e-12);
        Problem tight = new Problem(new double[] {1, 1, 1}, new double[] {1, 1, 10}, new double[] {10, 10, 10},
                new double[] {1, 1, 0}, new double[][] {{0, 1, 10}, {1, 0, 10}, {10, 10, 0}}, new int[0], new int[0],
                new double[0], 1, 0, 0.0);
        // (1 + 0) * 0.5 * 12 = 6 is below the largest model (10), so a powered device's limit rises to 10.
        assertEquals(10.0, tight.complexityLimit[0], 1e-12);
    }

    @Test
    void overflowAndFeasibility() {
        Problem small = new Problem(new double[] {600, 600}, new double[] {1, 1}, new double[] {700, 700},
                new double[] {1, 1}, new double[][] {{0, 1}, {1, 0}}, new int[] {0}, new int[] {1}, new double[] {1},
                1, 0, null);
        assertEquals(500.0, small.overflowMb(new int[] {0, 0}), 1e-12);
        assertEquals(false, small.feasible(new int[] {0, 0}));
        assertEquals(true, small.feasible(new int[] {0, 1}));
    }
}
