package dev.tessera.assigner;

import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.multilevel.MultilevelSearch;
import dev.tessera.assigner.internal.relax.Relaxation;
import dev.tessera.assigner.internal.search.DiscreteSearch;
import dev.tessera.assigner.internal.search.ExhaustiveSearch;
import dev.tessera.assigner.internal.search.SearchPlan;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * One placement run: turns a {@link PlacementSpec} into a {@link Problem} and a {@link SearchPlan} (every budget),
 * proves the obvious infeasibilities, runs the gradient phase ({@link Relaxation}) and, for REFINED, the discrete
 * phase ({@link DiscreteSearch}, whose schedule the plan describes; on large problems {@link MultilevelSearch},
 * which runs both on the coarsest graph and refines the answer level by level), and reports the result. A REFINED
 * run on a problem small enough to enumerate ({@link ExhaustiveSearch}) takes the proven optimum instead and skips
 * the gradient phase, so it never loads DJL. The gradient phase stops early once it has converged ({@link
 * #STOP_TOLERANCE}); on a multilevel run it runs on its own thread beside the search. Reads only the spec. Not
 * thread-safe; one instance per run.
 */
final class PlacementRun {
    /**
     * The gradient phase stops once its relaxed objective moves by at most this fraction per check (of 25 steps),
     * twice in a row, with its hardened placement unchanged (see {@code GradientRelaxation}). The hardened placement
     * is only a start for the discrete search, so it need not wait for the last per cent of the objective.
     */
    static final double STOP_TOLERANCE = 0.05;

    private final PlacementSpec spec;
    private final List<String> names;
    private final List<DeviceSpec> devices;
    private final Problem problem;
    private final SearchPlan plan;
    /** The report of the last gradient phase run (the multilevel run may run it on a finer level again). */
    private Placement.GradientPhase gradientPhase;

    /** Whether a REFINED run may enumerate a small problem instead of searching it. */
    private final boolean exhaustive;

    PlacementRun(PlacementSpec spec) {
        this(spec, true);
    }

    /**
     * @param exhaustive false makes a REFINED run relax and search even a problem small enough to enumerate, so that
     *     tests can check the search against brute force on small instances
     */
    PlacementRun(PlacementSpec spec, boolean exhaustive) {
        this.spec = spec;
        this.exhaustive = exhaustive;
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
            DeviceSpec dev = devices.get(d);
            capacity[d] = dev.memoryMb() * spec.maxMemRatio();
            power[d] = dev.effectivePower(spec.cpuWeight());
        }
        problem = new Problem(demand, complexity, capacity, power, spec.distance(), spec.edgeFrom(), spec.edgeTo(),
                spec.edgeVolume(), spec.connectionWeight(), spec.complexityMatchWeight(), spec.balanceTolerance());
        plan = SearchPlan.of(problem, spec.searchEffort(), spec.iterations());
    }

    Placement run() {
        long start = System.nanoTime();
        if (spec.method() == PlacementMethod.REFINED) {
            checkFeasible();
        }
        int[] assignment;
        if (exhaustive && spec.method() == PlacementMethod.REFINED && ExhaustiveSearch.applies(problem)) {
            assignment = orInfeasible(ExhaustiveSearch.solve(problem));
            gradientPhase = new Placement.GradientPhase(0, spec.iterations(), false, String.format(Locale.ROOT,
                    "skipped: %d placements searched exhaustively (optimal)", ExhaustiveSearch.placements(problem)));
        } else if (spec.method() == PlacementMethod.REFINED && plan.coarsestModels() > 0) {
            // large: the relaxation (beside the search) and the search run on the coarsest graph, then refinement
            MultilevelSearch multilevel = new MultilevelSearch(problem, spec.searchEffort(), plan.relaxIterations(),
                    spec.seed(), plan.coarsestModels());
            assignment = orInfeasible(multilevel.solve(this::relax,
                    (done, total) -> spec.progress().onProgress("search", done, total)));
            gradientPhase = besideSearch(gradientPhase, multilevel.relaxedRank());
        } else {
            assignment = relax(problem);
            if (spec.method() == PlacementMethod.REFINED) {
                assignment = refine(assignment);
            }
        }
        return report(assignment, (System.nanoTime() - start) / 1e9);
    }

    /**
     * The gradient phase on problem q (the whole problem, or the coarsest level of a multilevel run, which gets
     * {@link SearchPlan#coarsestRelaxIterations()} steps), hardened.
     */
    private int[] relax(Problem q) {
        int max = q == problem ? plan.relaxIterations() : plan.coarsestRelaxIterations();
        Relaxation.Result r = Relaxation.gradient(q, new Relaxation.Settings(max, spec.updateRate(),
                        spec.sizeMatchWeight(), spec.entropyWeight(), spec.seed(), computeDevice(), STOP_TOLERANCE))
                .run((done, total) -> spec.progress().onProgress("gradient", done, total));
        String where = q == problem ? "" : String.format(Locale.ROOT, " on the %d-model coarse graph", q.n);
        gradientPhase = new Placement.GradientPhase(r.steps(), max, r.converged(), r.converged()
                ? String.format(Locale.ROOT, "stopped at step %d of %d (converged)%s", r.steps(), max, where)
                : String.format(Locale.ROOT, "ran %d of %d steps%s", r.steps(), max, where));
        return r.argmax();
    }

    /** The gradient phase's report, with how its start did in the search it ran beside. */
    private static Placement.GradientPhase besideSearch(Placement.GradientPhase g, int rank) {
        String start = rank == 0 ? "its hardened placement could not be repaired to a feasible start"
                : String.format(Locale.ROOT, "its start ranked %d (1 = best) among the searched starts", rank);
        return new Placement.GradientPhase(g.steps(), g.maxSteps(), g.converged(),
                g.summary() + ", beside the search of the other starts; " + start);
    }

    private ai.djl.Device computeDevice() {
        if (spec.computeDevice() != null) {
            return spec.computeDevice();
        }
        return Devices.hasGpu() ? ai.djl.Device.gpu() : ai.djl.Device.cpu();
    }

    private int[] refine(int[] hardened) {
        return orInfeasible(new DiscreteSearch(problem, plan, spec.seed())
                .solve(hardened, (done, total) -> spec.progress().onProgress("search", done, total)));
    }

    private int[] orInfeasible(int[] best) {
        if (best == null) {
            throw new PlacementInfeasibleException(String.format(Locale.ROOT,
                    "no placement found that meets every memory%s limit: %d models need %.1f MB in all, the %d devices"
                            + " hold %.1f MB (memoryMb x maxMemRatio %s); add devices, raise maxMemRatio%s",
                    problem.balanced() ? " and balance" : "", problem.n, sum(problem.demand), problem.m,
                    sum(problem.capacity), spec.maxMemRatio(), problem.balanced() ? " or raise balanceTolerance" : ""));
        }
        return best;
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
                                + " (balanceTolerance %s); raise balanceTolerance or give devices more power%s",
                        problem.totalComplexity, totalLimit, spec.balanceTolerance(), cpuWeightHint()));
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
                        + " %s); a device with power 0 takes only models of complexity 0%s",
                names.get(i), problem.demand[i], problem.complexity[i], spec.balanceTolerance(), cpuWeightHint()));
    }

    /** Names cpuWeight when a CPU takes its power from it and it is 0, the usual cause of zero-power devices. */
    private String cpuWeightHint() {
        boolean zeroCpu = devices.stream().anyMatch(d -> !d.isGpu() && d.power() == null) && spec.cpuWeight() == 0;
        return zeroCpu ? String.format(Locale.ROOT, "; the CPU's power is cpuWeight=%s (the default): set"
                + " optCpuWeight(...) above 0, or give the CPU its own power with withPower(...)", spec.cpuWeight()) : "";
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
        return new Placement(names, devices, a, loads, cost, crossings(a), violations, spec.method(), gradientPhase,
                seconds);
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
