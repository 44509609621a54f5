package dev.tessera.assigner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Many small random instances (n <= 8, m <= 4) solved by enumerating all m^n placements with an objective
 * written independently of the library: the default method must find the optimum and never break a limit.
 */
class BruteForceOptimalityTest {
    private static final int INSTANCES = 60;

    record Instance(double[] size, double[] complexity, DeviceSpec[] devices, int[][] edges, double[] volume,
            double connectionWeight, double complexityMatchWeight, Double balance) {}

    /** These instances are small enough that a refined run enumerates them ({@code ExhaustiveSearch}). */
    @Test
    void refinedFindsTheBruteForceOptimum() {
        assertOptimalOnRandomInstances(b -> b.build().placement());
    }

    /** The relaxation and the discrete search on their own, with the enumeration switched off, on the same instances. */
    @Test
    void theSearchWithoutEnumerationFindsTheBruteForceOptimum() {
        assertOptimalOnRandomInstances(b -> new PlacementRun(PlacementSpec.of(b), false).run());
    }

    private static void assertOptimalOnRandomInstances(java.util.function.Function<ModelAssigner.Builder, Placement> place) {
        SplittableRandom rng = new SplittableRandom(20261121);
        int feasible = 0;
        for (int k = 0; k < INSTANCES; k++) {
            Instance inst = randomInstance(rng, k % 3 == 0);
            double best = bruteForce(inst);
            ModelAssigner.Builder b = builder(inst).optSeed(k);
            if (Double.isInfinite(best)) {
                assertThrows(PlacementInfeasibleException.class, () -> place.apply(b), "instance " + k);
                continue;
            }
            feasible++;
            Placement p = place.apply(b);
            assertTrue(p.feasible(), "instance " + k + " broke a limit: " + p.violations());
            assertEquals(best, objective(inst, p.deviceIndices()), 1e-9 * Math.max(1, best), "instance " + k + " not optimal: " + p);
            assertEquals(objective(inst, p.deviceIndices()), p.cost().objective(), 1e-9 * Math.max(1, best), "instance " + k);
        }
        assertTrue(feasible >= INSTANCES / 2, "too few feasible instances to mean anything: " + feasible);
    }

    static Instance randomInstance(SplittableRandom rng, boolean balanced) {
        int n = 2 + rng.nextInt(7);
        int m = 2 + rng.nextInt(3);
        double[] size = new double[n];
        double[] complexity = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            size[i] = 10 + rng.nextInt(90);
            complexity[i] = rng.nextInt(4) == 0 ? 0 : 1 + rng.nextInt(20);
            total += size[i];
        }
        DeviceSpec[] devices = new DeviceSpec[m];
        for (int d = 0; d < m; d++) {
            double mem = total * (0.3 + rng.nextDouble() * 0.6);
            devices[d] = d == m - 1 && rng.nextBoolean() ? DeviceSpec.cpu(mem).withPower(rng.nextBoolean() ? 0 : 0.3) : DeviceSpec.gpu(d, mem);
        }
        List<int[]> edges = new ArrayList<>();
        List<Double> vols = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (i != j && rng.nextDouble() < 0.3) {
                    edges.add(new int[] {i, j});
                    vols.add(1.0 + rng.nextInt(50));
                }
            }
        }
        return new Instance(size, complexity, devices, edges.toArray(new int[0][]),
                vols.stream().mapToDouble(Double::doubleValue).toArray(), 1 + rng.nextInt(3), rng.nextInt(3),
                balanced ? 0.2 + rng.nextDouble() : null);
    }

    private static ModelAssigner.Builder builder(Instance inst) {
        ModelAssigner.Builder b = ModelAssigner.builder();
        for (int i = 0; i < inst.size().length; i++) {
            b.addModel("m" + i, inst.size()[i], inst.complexity()[i]);
        }
        for (int e = 0; e < inst.edges().length; e++) {
            b.connect(inst.edges()[e][0], inst.edges()[e][1], inst.volume()[e]);
        }
        b.setDevices(List.of(inst.devices()))
                .optModelSizeMultiplier(1)
                .optMaxMemRatio(1)
                .optConnectionWeight(inst.connectionWeight())
                .optComplexityMatchWeight(inst.complexityMatchWeight())
                .optIterations(30);
        if (inst.balance() != null) {
            b.optBalanceTolerance(inst.balance());
        }
        return b;
    }

    /** The objective, written from the specification, independent of the library's code. */
    static double objective(Instance inst, int[] a) {
        int m = inst.devices().length;
        double[][] dist = new double[m][m];
        double maxDist = 0;
        for (int r = 0; r < m; r++) {
            for (int c = 0; c < m; c++) {
                if (r != c) {
                    dist[r][c] = inst.devices()[r].isGpu() && inst.devices()[c].isGpu() ? 1 : 10;
                    maxDist = Math.max(maxDist, dist[r][c]);
                }
            }
        }
        double comm = 0;
        double volume = 0;
        for (int e = 0; e < inst.edges().length; e++) {
            comm += inst.volume()[e] * dist[a[inst.edges()[e][0]]][a[inst.edges()[e][1]]];
            volume += inst.volume()[e];
        }
        double totalC = 0;
        double[] c = new double[m];
        for (int i = 0; i < a.length; i++) {
            c[a[i]] += inst.complexity()[i];
            totalC += inst.complexity()[i];
        }
        double totalP = 0;
        for (DeviceSpec d : inst.devices()) {
            totalP += d.effectivePower(0);
        }
        double match = 0;
        for (int d = 0; d < m; d++) {
            double gap = (totalC > 0 ? c[d] / totalC : 0) - (totalP > 0 ? inst.devices()[d].effectivePower(0) / totalP : 0);
            match += gap * gap;
        }
        double commTerm = volume > 0 ? inst.connectionWeight() * comm / (volume * maxDist) : 0;
        return commTerm + (totalC > 0 ? inst.complexityMatchWeight() * match : 0);
    }

    static boolean feasible(Instance inst, int[] a) {
        int m = inst.devices().length;
        double[] used = new double[m];
        double[] c = new double[m];
        double totalC = 0;
        double maxC = 0;
        for (int i = 0; i < a.length; i++) {
            used[a[i]] += inst.size()[i];
            c[a[i]] += inst.complexity()[i];
            totalC += inst.complexity()[i];
            maxC = Math.max(maxC, inst.complexity()[i]);
        }
        double totalP = 0;
        for (DeviceSpec d : inst.devices()) {
            totalP += d.effectivePower(0);
        }
        for (int d = 0; d < m; d++) {
            if (used[d] > inst.devices()[d].memoryMb() + 1e-9) {
                return false;
            }
            if (inst.balance() != null) {
                double p = inst.devices()[d].effectivePower(0);
                double limit = (1 + inst.balance()) * (totalP > 0 ? p / totalP : 0) * totalC;
                if (p > 0) {
                    limit = Math.max(limit, maxC);
                }
                if (c[d] > limit + 1e-9) {
                    return false;
                }
            }
        }
        return true;
    }

    static double bruteForce(Instance inst) {
        int n = inst.size().length;
        int m = inst.devices().length;
        int[] a = new int[n];
        double best = Double.POSITIVE_INFINITY;
        long total = (long) Math.pow(m, n);
        for (long code = 0; code < total; code++) {
            long x = code;
            for (int i = 0; i < n; i++) {
                a[i] = (int) (x % m);
                x /= m;
            }
            if (feasible(inst, a)) {
                best = Math.min(best, objective(inst, a));
            }
        }
        return best;
    }
}
