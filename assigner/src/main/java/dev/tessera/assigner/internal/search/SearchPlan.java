package dev.tessera.assigner.internal.search;

import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.improve.RuinRecreate;
import java.util.List;

/**
 * Immutable and thread-safe, holding no arrays: every budget of one placement run and the order of its phases, fixed
 * from the problem's size and the options before the run starts.
 *
 * <p>The schedule: every start is repaired; on large problems (n·m above {@value #LARGE}) only the
 * {@value #LARGE_STARTS} best repaired starts go on. Each goes through {@link #startPhases()} with
 * {@link #startKicks()} kicks. The {@value #FINALISTS} best then share the kicks the starts did not use
 * ({@link #roundKicks}) over {@value #ROUNDS} rounds of {@link #roundPhases()}, and end with {@link #finishPhases()}.
 *
 * <p>The budgets, with n models, m devices, E edges and effort the {@code searchEffort} option:
 * <ul>
 *   <li>kicks per start: effort × clamp(100,000 / (n + E), 30, 600), a quarter of them in the start's own search;
 *   <li>beam starts: about a million expansions per order (width ≤ 1,000), none when that leaves a width under 100;
 *   <li>tabu walk: about three million move evaluations (n·m each), at most 20,000 iterations, none under 1,000;
 *   <li>exact windows: the window size that keeps an enumeration near 20,000 leaves (m^k), at most 10; none below
 *       3 models or above {@value #WINDOW_LIMIT} models, where they cost more than they find; at most
 *       {@value #WINDOW_SWEEPS} sweeps;
 *   <li>ruin and recreate: about {@value #RECREATE_BUDGET} expansions per sweep (width ≤ {@value #RECREATE_WIDTH}),
 *       none when that leaves a width under 100 or under 6 models; at most {@value #RECREATE_SWEEPS} sweeps;
 *   <li>guards: a descent processes at most 50·n + 1,000 worklist entries, a repair makes at most 4·n·m + 16 steps.
 * </ul>
 *
 * <p>Above {@value #MULTILEVEL_MODELS} models the run is multilevel ({@link #coarsestModels()}): the graph is coarsened
 * to about {@value #COARSE_PER_DEVICE} models per device, the coarsest graph gets the relaxation and this schedule
 * (with the budgets of its own plan), and the answer is refined level by level on the way back.
 */
public final class SearchPlan {
    /** Rounds of (iterated local search, tabu walk) that each finalist gets. */
    static final int ROUNDS = 4;
    static final int FINALISTS = 2;
    /** n·m above which only the {@link #LARGE_STARTS} best repaired starts are descended and searched. */
    static final long LARGE = 100_000;
    static final int LARGE_STARTS = 3;
    private static final int WINDOW_LIMIT = 500;
    private static final int WINDOW_SWEEPS = 8;
    private static final int RECREATE_WIDTH = 3_000;
    private static final long RECREATE_BUDGET = 6_000_000;
    private static final int RECREATE_SWEEPS = 3;
    /** Above this many models a run is multilevel: coarsen, search the coarsest graph, refine while uncoarsening. */
    static final int MULTILEVEL_MODELS = 500;
    /** The multilevel run coarsens to about this many models per device (and at least {@value #COARSEST_MIN}). */
    static final int COARSE_PER_DEVICE = 8;
    static final int COARSEST_MIN = 200;
    /** The coarsest level's kicks are this fraction of a flat plan's: refinement on the finer levels does the rest. */
    static final double COARSEST_EFFORT = 0.25;
    /**
     * The coarsest level's gradient steps are this fraction of the {@code iterations} option. Its hardened placement is
     * one start of ten, searched beside the others, and the refinement of the finer levels follows; on the benchmark's
     * 1000×16 and 10000×64 graphs 100, 150 and 250 steps gave final objectives equal to or below 500 steps' (seed 42),
     * while each step is a fixed cost of about 0.6 ms warm (DJL and PyTorch overhead on a few hundred models). In a cold
     * CLI run the steps lie on the critical path (the search waits for them): 120 instead of 200 took the median cold
     * 1000×16 wall time from 1.58 to 1.45 s, with final objectives over seeds 0–9 of 0.03650 against 0.03649 (mean) at
     * 1000×16 and 0.01563 against 0.01560 at 10000×64, every one below METIS-cut's.
     */
    static final double COARSEST_RELAX_FRACTION = 0.24;

    private final int relaxIterations;
    private final int kicksPerStart;
    private final int startKicks;
    private final int beamWidth;
    private final long tabuIterations;
    private final int windowSize;
    private final int recreateWidth;
    private final long descentSteps;
    private final int repairSteps;
    private final int searchedStarts;
    private final int coarsestModels;

    private SearchPlan(Problem p, double searchEffort, int relaxIterations, boolean lean) {
        this.relaxIterations = relaxIterations;
        double kicksBySize = Math.max(30, Math.min(600, 100_000.0 / (p.n + p.edgeFrom.length)));
        this.kicksPerStart = (int) Math.round(searchEffort * kicksBySize);
        this.startKicks = Math.max(1, kicksPerStart / 4);
        this.beamWidth = lean ? 0 : beamWidth(p);
        this.tabuIterations = lean ? 0 : tabuIterations(p);
        this.windowSize = lean ? 0 : windowSize(p);
        this.recreateWidth = lean ? 0 : recreateWidth(p);
        this.descentSteps = 50L * p.n + 1000;
        this.repairSteps = 4 * p.n * p.m + 16;
        this.searchedStarts = (long) p.n * p.m > LARGE ? LARGE_STARTS : Integer.MAX_VALUE;
        this.coarsestModels = p.n > MULTILEVEL_MODELS ? Math.max(COARSEST_MIN, COARSE_PER_DEVICE * p.m) : 0;
    }

    /**
     * @param searchEffort the {@code searchEffort} option (kicks scale with it)
     * @param relaxIterations gradient steps of the relaxation
     */
    public static SearchPlan of(Problem p, double searchEffort, int relaxIterations) {
        return new SearchPlan(p, searchEffort, relaxIterations, false);
    }

    /**
     * The plan for the coarsest level of a multilevel run: the same starts less the beams, {@value #COARSEST_EFFORT}
     * of the kicks, and no tabu walks, exact windows or ruin and recreate, which cost seconds on a few hundred models
     * and whose gains the refinement of the finer levels makes up (measured on the benchmark's 1000×16 graph: four
     * times these kicks gave the same final objective at three times the search time).
     */
    public static SearchPlan coarsest(Problem p, double searchEffort, int relaxIterations) {
        return new SearchPlan(p, searchEffort * COARSEST_EFFORT, relaxIterations, true);
    }

    private static int beamWidth(Problem p) {
        long perWidth = Math.max(1L, (long) p.n * p.m);
        int width = (int) Math.min(1_000L, 1_000_000L / perWidth);
        return width < 100 ? 0 : width;
    }

    private static long tabuIterations(Problem p) {
        long perIteration = Math.max(1L, (long) p.n * p.m);
        long iterations = Math.min(20_000L, 3_000_000L / perIteration);
        return iterations < 1_000 ? 0 : iterations;
    }

    private static int windowSize(Problem p) {
        if (p.m < 2 || p.n > WINDOW_LIMIT) {
            return 0;
        }
        int k = (int) Math.floor(Math.log(20_000) / Math.log(p.m));
        k = Math.max(2, Math.min(k, Math.min(10, p.n)));
        return k < 3 ? 0 : k;
    }

    private static int recreateWidth(Problem p) {
        long perWidth = Math.max(1L, (long) RuinRecreate.LENGTHS * (RuinRecreate.OFFSETS + 1) * (p.n / 2) * p.m);
        int width = (int) Math.min(RECREATE_WIDTH, RECREATE_BUDGET / perWidth);
        return width < 100 || p.n < 6 ? 0 : width;
    }

    /** What every searched start goes through, in order. */
    public List<Phase> startPhases() {
        return List.of(Phase.DESCENT, Phase.WINDOWS, Phase.KICKS, Phase.TABU);
    }

    /** What each finalist goes through in each of the {@value #ROUNDS} rounds. */
    public List<Phase> roundPhases() {
        return List.of(Phase.KICKS, Phase.TABU);
    }

    /** What each finalist ends with. */
    public List<Phase> finishPhases() {
        return List.of(Phase.RECREATE);
    }

    /**
     * The size the multilevel run coarsens to (about {@value #COARSE_PER_DEVICE} models per device, at least {@value
     * #COARSEST_MIN}), or 0 when the problem has at most {@value #MULTILEVEL_MODELS} models and is searched as it is.
     */
    public int coarsestModels() {
        return coarsestModels;
    }

    public int relaxIterations() {
        return relaxIterations;
    }

    /** Gradient steps for the coarsest level of a multilevel run: {@value #COARSEST_RELAX_FRACTION} of the flat ones. */
    public int coarsestRelaxIterations() {
        return (int) Math.max(1, Math.round(relaxIterations * COARSEST_RELAX_FRACTION));
    }

    /** Width of the beam starts, or 0 for none. */
    public int beamWidth() {
        return beamWidth;
    }

    /** Kicks in each start's own search. */
    public int startKicks() {
        return startKicks;
    }

    /**
     * Kicks per round for each finalist: the kicks the {@code searched} starts did not use in their own search,
     * shared by the {@code finalists} and split over the rounds.
     */
    public int roundKicks(int searched, int finalists) {
        long rest = Math.max(0, (long) kicksPerStart * searched - (long) startKicks * searched);
        long share = rest / finalists;
        return (int) Math.min(Integer.MAX_VALUE, share / ROUNDS);
    }

    public int rounds() {
        return ROUNDS;
    }

    public int finalists() {
        return FINALISTS;
    }

    /** How many repaired starts are searched at most (the best by objective). */
    public int searchedStarts() {
        return searchedStarts;
    }

    /** Tabu iterations per walk, or 0 for no tabu walks. */
    public long tabuIterations() {
        return tabuIterations;
    }

    /** Models per exact window, or 0 for no window sweeps. */
    public int windowSize() {
        return windowSize;
    }

    public int windowSweeps() {
        return WINDOW_SWEEPS;
    }

    /** Beam width of ruin and recreate, or 0 for none. */
    public int recreateWidth() {
        return recreateWidth;
    }

    public int recreateSweeps() {
        return RECREATE_SWEEPS;
    }

    public long descentSteps() {
        return descentSteps;
    }

    public int repairSteps() {
        return repairSteps;
    }
}
