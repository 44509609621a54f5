package dev.tessera.assigner.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.assigner.internal.relax.RelaxationTest;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The incremental loads and their limit checks against the same quantities recomputed from a whole assignment. */
class LoadsTest {

    @Test
    void addedLoadsAndTheirChecksMatchTheAssignmentRecomputedFromScratch() {
        SplittableRandom rng = new SplittableRandom(31);
        for (int instance = 0; instance < 30; instance++) {
            Problem p = RelaxationTest.problem(rng, 8 + rng.nextInt(20), 2 + rng.nextInt(5));
            int[] a = randomAssignment(p, rng);
            Loads loads = loadsOf(p, a);
            assertArrayEquals(p.loads(a, p.demand), loads.memory, 1e-9, "instance " + instance);
            assertArrayEquals(p.loads(a, p.complexity), loads.compute, 1e-9, "instance " + instance);
            assertEquals(p.feasible(a), loads.feasible(), "instance " + instance);
            for (int trial = 0; trial < 20; trial++) {
                checkMove(p, a, loads, rng.nextInt(p.n), rng.nextInt(p.m), "instance " + instance);
                checkExchange(p, a, loads, rng.nextInt(p.n), rng.nextInt(p.n), "instance " + instance);
            }
        }
    }

    /** Moving i to b on a copy: loads and excess on both devices, fit on b, mismatch change, against a recount. */
    private static void checkMove(Problem p, int[] a, Loads loads, int i, int b, String where) {
        int from = a[i];
        if (from == b) {
            return;
        }
        int[] moved = a.clone();
        moved[i] = b;
        Loads after = loadsOf(p, moved);
        Loads copy = loads.copy();
        copy.remove(i, from);
        copy.add(i, b);
        assertArrayEquals(after.memory, copy.memory, 1e-9, where);
        assertArrayEquals(after.compute, copy.compute, 1e-9, where);
        assertEquals(after.relativeExcess(from), copy.relativeExcess(from), 1e-12, where);
        assertEquals(after.relativeExcess(b), copy.relativeExcess(b), 1e-12, where);
        assertEquals(after.feasible(), copy.feasible(), where);
        assertEquals(p.withinLimits(b, after.memory[b], after.compute[b]), loads.fitsWith(i, b), where);
        double mismatchChange = p.complexityMismatch(after.compute) - p.complexityMismatch(loads.compute);
        assertEquals(mismatchChange, loads.mismatchDelta(p.complexity[i], from, b), 1e-12, where);
    }

    private static void checkExchange(Problem p, int[] a, Loads loads, int i, int j, String where) {
        int da = a[i];
        int db = a[j];
        if (da == db) {
            return;
        }
        int[] swapped = a.clone();
        swapped[i] = db;
        swapped[j] = da;
        Loads after = loadsOf(p, swapped);
        boolean expected = p.withinLimits(da, after.memory[da], after.compute[da])
                && p.withinLimits(db, after.memory[db], after.compute[db]);
        assertEquals(expected, loads.fitsExchange(i, da, j, db), where);
    }

    private static Loads loadsOf(Problem p, int[] a) {
        Loads loads = new Loads(p);
        for (int i = 0; i < p.n; i++) {
            loads.add(i, a[i]);
        }
        return loads;
    }

    private static int[] randomAssignment(Problem p, SplittableRandom rng) {
        int[] a = new int[p.n];
        for (int i = 0; i < p.n; i++) {
            a[i] = rng.nextInt(p.m);
        }
        return a;
    }
}
