package com.example.samples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CartPoleTest {
    private static final double EPS = 1e-12;

    @Test
    void pushRightFromRestMatchesTheHandDerivedStep() {
        // at rest, upright, force +10: temp = 10/1.1, thetaAcc = -(100/11) / (0.5 (4/3 - 0.1/1.1)) = -600/41,
        // xAcc = 100/11 + 0.05 (600/41) / 1.1 = 400/41; Euler moves the positions with the old (zero) velocities
        double[] s = CartPole.dynamics(new double[4], 1);
        assertArrayEquals(new double[] {0, 0.02 * 400 / 41, 0, -0.02 * 600 / 41}, s, EPS);
        // then a push left: the accelerations flip sign, the positions move with the velocities of the last step
        assertArrayEquals(new double[] {0.02 * 8 / 41, 0, 0.02 * -12 / 41, 0}, CartPole.dynamics(s, 0), EPS);
    }

    @Test
    void stepsFromATiltedMovingStateMatchGymsEquations() {
        // expected values from gym's CartPole-v1 step (its equations, evaluated in double precision)
        double[] s = {0.01, -0.02, 0.03, 0.04};
        s = CartPole.dynamics(s, 0);
        assertArrayEquals(new double[] {0.0096, -0.21553901710278936, 0.0308, 0.34199522377603914}, s, EPS);
        s = CartPole.dynamics(s, 1);
        assertArrayEquals(new double[] {0.005289219657944213, -0.020868498014729647, 0.03763990447552078,
                0.059181706756417596}, s, EPS);
        s = CartPole.dynamics(s, 1);
        assertArrayEquals(new double[] {0.0048718496976496205, 0.1736941202746195, 0.038823538610649126,
                -0.22139198924408143}, s, EPS);
    }

    @Test
    void terminatesWhenThePoleLeansPastTwelveDegrees() {
        CartPole env = new CartPole(1);
        env.set(new double[] {0, 0, 0.2, 1.0}, 10); // 0.2 rad (11.5 degrees), falling further: 0.22 rad after
        CartPole.Step step = env.step(1);
        assertEquals(0.22, step.state()[2], EPS);
        assertTrue(step.terminated());
        assertFalse(step.truncated());
        assertEquals(1.0, step.reward());
        assertThrows(IllegalStateException.class, () -> env.step(0));
    }

    @Test
    void terminatesWhenTheCartLeavesTheTrack() {
        CartPole env = new CartPole(1);
        env.set(new double[] {2.39, 1.0, 0, 0}, 0); // x = 2.39 + 0.02 * 1.0 = 2.41
        assertTrue(env.step(1).terminated());
        env.set(new double[] {2.3, 1.0, 0, 0}, 0);
        assertFalse(env.step(1).done());
    }

    @Test
    void truncatesAfterTwoHundredSteps() {
        CartPole env = new CartPole(1);
        env.set(new double[] {0, 0, 0, 0}, CartPole.MAX_STEPS - 2);
        CartPole.Step step = env.step(1);
        assertFalse(step.done());
        step = env.step(0);
        assertTrue(step.truncated());
        assertFalse(step.terminated());
        assertEquals(CartPole.MAX_STEPS, env.steps());
    }

    @Test
    void resetsAreSeededAndNearUpright() {
        CartPole a = new CartPole(7);
        CartPole b = new CartPole(7);
        for (int episode = 0; episode < 50; episode++) {
            double[] s = a.reset();
            assertArrayEquals(s, b.reset());
            for (double v : s) {
                assertTrue(v >= -0.05 && v < 0.05, () -> "initial value " + v);
            }
            assertEquals(0, a.steps());
        }
        assertNotEquals(new CartPole(7).reset()[0], new CartPole(8).reset()[0]);
    }

    @Test
    void rejectsAnUnknownActionAndAStepBeforeReset() {
        CartPole env = new CartPole(1);
        assertThrows(IllegalStateException.class, () -> env.step(1));
        env.reset();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> env.step(2));
        assertTrue(e.getMessage().contains("action=2"), e.getMessage());
    }
}
