package dev.tessera.assigner;

import dev.tessera.assigner.internal.GradientRelaxation;
import dev.tessera.assigner.internal.LocalSearch;
import dev.tessera.assigner.internal.Problem;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * One placement run: turns a {@link PlacementSpec} into a {@link Problem}, proves the obvious infeasibilities,
 * runs the gradient phase and (for REFINED) the discrete phase, and reports the result. Not thread-safe.
 *
 * <p>REFINED uses several starts: the hardened relaxation, pipeline fills along a topological order with three
 * amounts of slack, exact pipeline cuts and beam searches along two topological orders and a depth-first one, and
 * greedy insertions in breadth-first and largest-first order. Each start is repaired, descended and improved by
 * iterated local search and (small instances) a tabu walk; the two best get more of both and then ruin and recreate,
 * and the best feasible result wins. The number of kicks is {@code searchEffort × clamp(100000 / (n + E), 30, 600)}
 * per start: fixed by size, not by the clock.
 */
final class PlacementRun {
    private final PlacementSpec spec;
    private final List<String> names;
    private final List<Device> devices;
    private final Problem problem;

    PlacementRun(PlacementSpec spec) {
        this.spec = spec;
        this.names = spec.names();
        this.devices = spec.devices();
        int n = spec.n();
        int m = spec.m();
        double[] sizesMb = spec.sizesMb();
        double[] given = spec.complexities();
        double[] demand = new double[n];
        double[] complexity = new double[n];
        for (int i = 0; i < n; i++) {
            demand[i] = sizesMb[i] * spec.modelSizeMultiplier();
            complexity[i] = Double.isNaN(given[i]) ? demand[i] : given[i];
        }
        double[] capacity = new double[m];
        double[] power = new double[m];
        for (int d = 0; d < m; d++) {
            Device dev = devices.get(d);
            capacity[d] = dev.memoryMb() * spec.maxMemRatio();
            power[d] = dev.effectivePower(spec.cpuWeight());
        }
        problem = new Problem(demand, complexity, capacity, power, spec.distance(), spec.edgeFrom(), spec.edgeTo(),
                spec.edgeVolume(), spec.connectionWeight(), spec.complexityMatchWeight(), spec.balanceTolerance());
    }

    Placement run() {
        long start = System.nanoTime();
        if (spec.method() == PlacementMethod.REFINED) {
            checkFeasible();
        }
        GradientRelaxation.Result relaxed = new GradientRelaxation(problem, new GradientRelaxation.Settings(
                        spec.iterations(), spec.updateRate(), spec.sizeMatchWeight(), spec.entropyWeight(), spec.seed(), computeDevice()))
                .run((done, total) -> spec.progress().onProgress("gradient", done, total));
        int[] assignment = relaxed.argmax();
        if (spec.method() == PlacementMethod.REFINED) {
            assignment = refine(assignment);
        }
        return report(assignment, (System.nanoTime() - start) / 1e9);
    }

    private ai.djl.Device computeDevice() {
        if (spec.computeDevice() != null) {
            return spec.computeDevice();
        }
        return Devices.hasGpu() ? ai.djl.Device.gpu() : ai.djl.Device.cpu();
    }

    private int[] refine(int[] hardened) {
        LocalSearch search = new LocalSearch(problem, spec.seed());
        List<int[]> starts = new ArrayList<>();
        starts.add(hardened);
        int[] topo = search.topologicalOrder();
        int[] deviceOrder = devicesByPower();
        for (double slack : new double[] {1.0, 1.15, 1.35}) {
            starts.add(search.pipeline(topo, deviceOrder, slack));
        }
        int width = beamWidth();
        for (int[] order : List.of(topo, search.topologicalOrder(false), search.depthFirstOrder())) {
            int[] cut = search.pipelineCut(order, deviceOrder);
            if (cut != null) {
                starts.add(cut);
            }
            int[] beam = width > 0 ? search.beam(order, width) : null;
            if (beam != null) {
                starts.add(beam);
            }
        }
        starts.add(search.greedy(search.bfsOrder(topo.length == 0 ? 0 : topo[0])));
        starts.add(search.greedy(largestFirst()));
        int kicks = (int) Math.round(spec.searchEffort() * Math.max(30, Math.min(600, 100_000.0 / (problem.n + problem.edgeFrom.length))));
        int[] best = search.solve(starts, kicks, (done, total) -> spec.progress().onProgress("search", done, total));
        if (best == null) {
            throw new PlacementInfeasibleException(String.format(Locale.ROOT,
                    "no placement found that meets every memory%s limit: %d models need %.1f MB in all, the %d devices"
                            + " hold %.1f MB (memoryMb x maxMemRatio %s); add devices, raise maxMemRatio%s",
                    problem.balanced() ? " and balance" : "", problem.n, sum(problem.demand), problem.m,
                    sum(problem.capacity), spec.maxMemRatio(), problem.balanced() ? " or raise balanceTolerance" : ""));
        }
        return best;
    }

    /**
     * Beam width for the beam starts: about a million partial placements per order (n·m per unit of width), at
     * most 1,000, and no beam when that leaves fewer than 100 (large graphs, where a narrow beam costs more
     * time than it saves).
     */
    private int beamWidth() {
        long perWidth = Math.max(1L, (long) problem.n * problem.m);
        int width = (int) Math.min(1_000L, 1_000_000L / perWidth);
        return width < 100 ? 0 : width;
    }

    private int[] devicesByPower() {
        return descending(problem.power);
    }

    private int[] largestFirst() {
        return descending(problem.demand);
    }

    /** Indices sorted by key, largest first (ties keep index order). */
    private static int[] descending(double[] key) {
        Integer[] order = new Integer[key.length];
        for (int k = 0; k < key.length; k++) {
            order[k] = k;
        }
        Arrays.sort(order, (x, y) -> Double.compare(key[y], key[x]));
        return Arrays.stream(order).mapToInt(Integer::intValue).toArray();
    }

    /** Throws for inputs that no placement can satisfy, naming the numbers. */
    private void checkFeasible() {
        double totalDemand = sum(problem.demand);
        double totalCapacity = sum(problem.capacity);
        if (totalDemand > totalCapacity * (1 + 1e-12) + Problem.EPS) {
            throw new PlacementInfeasibleException(String.format(Locale.ROOT,
                    "total demand %.1f MB (sizeMb x modelSizeMultiplier %s) exceeds total capacity %.1f MB"
                            + " (memoryMb x maxMemRatio %s over %d devices)",
                    totalDemand, spec.modelSizeMultiplier(), totalCapacity, spec.maxMemRatio(), problem.m));
        }
        double maxCap = Arrays.stream(problem.capacity).max().orElse(0);
        for (int i = 0; i < problem.n; i++) {
            checkModelFits(i, maxCap);
        }
        if (problem.balanced()) {
            double totalLimit = sum(problem.complexityLimit);
            if (problem.totalComplexity > totalLimit * (1 + 1e-12) + Problem.EPS) {
                throw new PlacementInfeasibleException(String.format(Locale.ROOT,
                        "balance cannot be met: total complexity %.4g exceeds the sum of per-device limits %.4g"
                                + " (balanceTolerance %s); raise balanceTolerance or give devices more power",
                        problem.totalComplexity, totalLimit, spec.balanceTolerance()));
            }
        }
    }

    private void checkModelFits(int i, double maxCap) {
        if (problem.demand[i] > maxCap + Problem.EPS) {
            throw new PlacementInfeasibleException(String.format(Locale.ROOT,
                    "model '%s' needs %.1f MB (sizeMb %.1f x modelSizeMultiplier %s) but the largest device holds"
                            + " %.1f MB (memoryMb x maxMemRatio %s)",
                    names.get(i), problem.demand[i], spec.sizesMb()[i], spec.modelSizeMultiplier(), maxCap, spec.maxMemRatio()));
        }
        for (int d = 0; d < problem.m; d++) {
            if (problem.allowed(i, d)) {
                return;
            }
        }
        throw new PlacementInfeasibleException(String.format(Locale.ROOT,
                "model '%s' (%.1f MB, complexity %.4g) fits on no device within the balance limits (balanceTolerance"
                        + " %s); a device with power 0 takes only models of complexity 0",
                names.get(i), problem.demand[i], problem.complexity[i], spec.balanceTolerance()));
    }

    private Placement report(int[] a, double seconds) {
        double[] load = problem.loads(a, problem.demand);
        double[] comp = problem.loads(a, problem.complexity);
        List<Placement.DeviceLoad> loads = new ArrayList<>();
        List<String> violations = new ArrayList<>();
        for (int d = 0; d < problem.m; d++) {
            List<String> here = new ArrayList<>();
            for (int i = 0; i < problem.n; i++) {
                if (a[i] == d) {
                    here.add(names.get(i));
                }
            }
            double limit = problem.complexityLimit == null ? Double.NaN : problem.complexityLimit[d];
            double share = problem.totalComplexity > 0 ? comp[d] / problem.totalComplexity : 0;
            loads.add(new Placement.DeviceLoad(devices.get(d), load[d], problem.capacity[d], comp[d], limit, share,
                    problem.powerShare[d], here));
            String dev = devices.get(d).name();
            if (load[d] > problem.capacity[d] + Problem.tolerance(problem.capacity[d])) {
                violations.add(String.format(Locale.ROOT, "%s holds %.1f MB but its capacity is %.1f MB", dev, load[d],
                        problem.capacity[d]));
            }
            if (problem.complexityLimit != null && comp[d] > limit + Problem.tolerance(limit)) {
                violations.add(String.format(Locale.ROOT, "%s carries complexity %.4g but its balance limit is %.4g", dev,
                        comp[d], limit));
            }
        }
        double comm = problem.communication(a);
        Placement.Cost cost = new Placement.Cost(problem.objective(a), comm, problem.complexityMismatch(comp),
                problem.overflowMb(a), problem.balanceExcess(a));
        return new Placement(names, devices, a, loads, cost, crossings(a), violations, spec.method(), seconds);
    }

    private List<Placement.Crossing> crossings(int[] a) {
        List<Placement.Crossing> out = new ArrayList<>();
        for (int e = 0; e < problem.edgeFrom.length; e++) {
            int f = problem.edgeFrom[e];
            int t = problem.edgeTo[e];
            if (a[f] != a[t]) {
                double c = problem.edgeVolume[e] * problem.dist[a[f]][a[t]];
                out.add(new Placement.Crossing(names.get(f), names.get(t), devices.get(a[f]).name(),
                        devices.get(a[t]).name(), problem.edgeVolume[e], c));
            }
        }
        return out;
    }

    private static double sum(double[] v) {
        return Arrays.stream(v).sum();
    }
}
