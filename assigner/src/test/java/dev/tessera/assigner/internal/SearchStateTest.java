package dev.tessera.assigner.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.assigner.internal.relax.RelaxationTest;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The incremental move and swap prices against the objective recomputed from scratch. */
class SearchStateTest {

    @Test
    void swapDeltaEqualsTheObjectiveChangeOfTheSwap() {
        SplittableRandom rng = new SplittableRandom(21);
        int checked = 0;
        for (int instance = 0; instance < 20; instance++) {
            SearchState s = randomState(rng);
            Problem p = s.p;
            double[] costOfI = new double[p.m];
            for (int trial = 0; trial < 50; trial++) {
                int i = rng.nextInt(p.n);
                int j = rng.nextInt(p.n);
                if (s.a[i] == s.a[j]) {
                    continue;
                }
                s.gather(i);
                for (int x = 0; x < p.m; x++) {
                    costOfI[x] = s.commCost(x);
                }
                double predicted = s.swapDelta(i, j, costOfI);
                int[] swapped = s.a.clone();
                swapped[i] = s.a[j];
                swapped[j] = s.a[i];
                double actual = p.objective(swapped) - p.objective(s.a);
                assertEquals(actual, predicted, 1e-9 * Math.max(1, Math.abs(actual)), "instance " + instance);
                checked++;
            }
        }
        assertEquals(true, checked > 500, "checked " + checked);
    }

    @Test
    void moveDeltaEqualsTheObjectiveChangeOfTheMove() {
        SplittableRandom rng = new SplittableRandom(22);
        for (int instance = 0; instance < 20; instance++) {
            SearchState s = randomState(rng);
            Problem p = s.p;
            for (int trial = 0; trial < 50; trial++) {
                int i = rng.nextInt(p.n);
                int b = rng.nextInt(p.m);
                s.gather(i);
                double predicted = s.moveDelta(i, b, s.commCost(s.a[i]));
                int[] moved = s.a.clone();
                moved[i] = b;
                double actual = p.objective(moved) - p.objective(s.a);
                assertEquals(actual, predicted, 1e-9 * Math.max(1, Math.abs(actual)), "instance " + instance);
            }
        }
    }

    /** A random problem (see {@link RelaxationTest#problem}) with every model on a random device. */
    private static SearchState randomState(SplittableRandom rng) {
        Problem p = RelaxationTest.problem(rng, 10 + rng.nextInt(20), 2 + rng.nextInt(5));
        int[] a = new int[p.n];
        for (int i = 0; i < p.n; i++) {
            a[i] = rng.nextInt(p.m);
        }
        return new SearchState(p, a);
    }
}
