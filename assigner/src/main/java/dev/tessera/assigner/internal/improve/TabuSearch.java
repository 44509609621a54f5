package dev.tessera.assigner.internal.improve;

import dev.tessera.assigner.internal.Loads;
import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.graph.Graph;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Not thread-safe; one instance per run, which owns its n×m tables and returns new arrays. Tabu search with strategic
 * oscillation over single-model moves: the search may cross infeasible assignments,
 * paying a penalty λ per unit of relative memory or balance excess, and λ adapts so that the walk keeps returning
 * to the feasible side. This is what lets it solve the knapsack-like exchanges (one model in, two out) that a
 * feasible-only descent cannot make.
 *
 * <p>Every iteration takes the best non-tabu move over all models and devices (a model that leaves a device may
 * not return to it for a randomised tenure), unless a tabu move gives a new best feasible assignment
 * (aspiration). Move costs come from an n×m table of each model's communication cost on each device, updated in
 * O(degree·m) per move, so an iteration costs O(n·m) plus the update. After a long stall the walk restarts from
 * the best assignment with a random connected segment moved to one device. The number of iterations is given by
 * the caller, never by the clock, so a seed gives one result.
 */
public final class TabuSearch {
    private static final double MIN_PENALTY = 1e-9;
    private static final double MAX_PENALTY = 1e9;
    private static final int ADAPT_EVERY = 10;

    private final Problem p;
    private final Graph g;
    private final SplittableRandom rng;
    private final int n;
    private final int m;

    private final int[] a;
    private final Loads loads;
    /** Each model's communication cost on each device, with every other model where it is. */
    private final CostTable cost;
    /** violation[d]: {@link Loads#relativeExcess} of device d, cached. */
    private final double[] violation;
    private final long[] tabuUntil;
    /** allowed[i * m + d]: whether model i can ever sit on device d ({@link Problem#allowed}). */
    private final boolean[] allowed;
    private int violatedDevices;
    private double comm;
    private double penalty;
    /** The step's best move so far, reused by every step. */
    private final Choice choice = new Choice();

    /** The walk's record: the best feasible assignment, and the runs that steer λ. */
    private int[] best;
    private double bestObjective;
    private long lastImprovement;
    private int feasibleRun;
    private int infeasibleRun;

    public TabuSearch(Graph g, SplittableRandom rng) {
        this.p = g.p;
        this.g = g;
        this.rng = rng;
        this.n = p.n;
        this.m = p.m;
        this.a = new int[n];
        this.loads = new Loads(p);
        this.cost = new CostTable(p);
        this.violation = new double[m];
        this.tabuUntil = new long[n * m];
        this.allowed = new boolean[n * m];
        for (int i = 0; i < n; i++) {
            for (int d = 0; d < m; d++) {
                allowed[i * m + d] = p.allowed(i, d);
            }
        }
    }

    /**
     * Walks for {@code iterations} moves from {@code start} (which may break limits) and returns the best
     * feasible assignment seen, or null when none was.
     */
    public int[] run(int[] start, long iterations) {
        load(start);
        penalty = initialPenalty();
        Arrays.fill(tabuUntil, 0);
        best = violatedDevices == 0 ? a.clone() : null;
        bestObjective = violatedDevices == 0 ? objective() : Double.POSITIVE_INFINITY;
        long stallLimit = Math.max(2_000, 20L * n);
        lastImprovement = 0;
        feasibleRun = 0;
        infeasibleRun = 0;
        for (long it = 1; it <= iterations; it++) {
            if (!step(it, bestObjective)) {
                Arrays.fill(tabuUntil, 0); // every move is tabu: forget them
                if (!step(it, bestObjective)) {
                    break; // no model can move at all
                }
            }
            record(it);
            if (best != null && it - lastImprovement >= stallLimit) {
                load(best);
                perturb();
                lastImprovement = it;
            }
        }
        int[] result = best;
        best = null;
        return result;
    }

    /** Keeps a new best feasible assignment; doubles λ after infeasible runs, halves it after feasible ones. */
    private void record(long it) {
        if (violatedDevices == 0) {
            feasibleRun++;
            infeasibleRun = 0;
            double obj = objective();
            if (improves(obj, bestObjective)) {
                bestObjective = obj;
                best = a.clone();
                lastImprovement = it;
            }
        } else {
            infeasibleRun++;
            feasibleRun = 0;
        }
        if (infeasibleRun >= ADAPT_EVERY) {
            penalty = Math.min(MAX_PENALTY, penalty * 2);
            infeasibleRun = 0;
        } else if (feasibleRun >= ADAPT_EVERY) {
            penalty = Math.max(MIN_PENALTY, penalty / 2);
            feasibleRun = 0;
        }
    }

    /** Makes the best admissible move; returns false when no model can move at all. */
    private boolean step(long it, double bestObjective) {
        choice.reset();
        double objective = objective();
        for (int i = 0; i < n; i++) {
            consider(i, it, objective, bestObjective, choice);
        }
        if (choice.model < 0) {
            return false;
        }
        int from = a[choice.model];
        move(choice.model, choice.device);
        tabuUntil[choice.model * m + from] = it + tenure();
        return true;
    }

    /** The best move of a step so far; equal scores are drawn uniformly (reservoir sampling over the ties). */
    private static final class Choice {
        int model;
        int device;
        double score;
        int ties;

        void reset() {
            model = -1;
            device = -1;
            score = Double.POSITIVE_INFINITY;
            ties = 0;
        }
    }

    /** Offers every admissible move of model i to the choice. */
    private void consider(int i, long it, double objective, double bestObjective, Choice choice) {
        int from = a[i];
        int row = i * m;
        double here = cost.cost(i, from);
        double di = p.demand[i];
        double ci = p.complexity[i];
        double[] memory = loads.memory;
        double[] compute = loads.compute;
        double violFromAfter = p.relativeExcess(from, memory[from] - di, compute[from] - ci);
        double fromChange = violFromAfter - violation[from];
        for (int d = 0; d < m; d++) {
            if (d == from || !allowed[row + d]) {
                continue;
            }
            double violToAfter = p.relativeExcess(d, memory[d] + di, compute[d] + ci);
            double dObj = p.commScale * (cost.cost(i, d) - here) + loads.mismatchDelta(ci, from, d);
            double score = dObj + penalty * (fromChange + violToAfter - violation[d]);
            if (tabuUntil[row + d] > it) {
                int after = violatedDevices - (violation[from] > 0 ? 1 : 0) + (violFromAfter > 0 ? 1 : 0)
                        - (violation[d] > 0 ? 1 : 0) + (violToAfter > 0 ? 1 : 0);
                if (after != 0 || !improves(objective + dObj, bestObjective)) {
                    continue; // tabu, and no new best feasible assignment to aspire to
                }
            }
            if (score < choice.score - 1e-15) {
                choice.score = score;
                choice.model = i;
                choice.device = d;
                choice.ties = 1;
            } else if (score <= choice.score + 1e-15 && rng.nextInt(++choice.ties) == 0) {
                choice.model = i;
                choice.device = d;
            }
        }
    }

    private static boolean improves(double candidate, double incumbent) {
        return incumbent == Double.POSITIVE_INFINITY
                || candidate < incumbent - Problem.IMPROVEMENT * Math.max(1, Math.abs(incumbent));
    }

    /**
     * A random tenure that grows with the number of possible moves, so that small instances cannot cycle among a
     * few models: 2 plus up to a quarter of n·(m−1), capped at 10 + n/10.
     */
    private int tenure() {
        int moves = n * (m - 1);
        return 2 + rng.nextInt(Math.max(3, Math.min(moves / 4, 10 + n / 10)));
    }

    /** Moves a random connected segment (up to a fifth of the models, at least two) to one device, ignoring limits. */
    private void perturb() {
        int target = rng.nextInt(m);
        int[] ball = g.ball(rng.nextInt(n), 1 + rng.nextInt(Math.max(2, n / 5)));
        for (int i : ball) {
            if (p.allowed(i, target) && a[i] != target) {
                move(i, target);
            }
        }
        Arrays.fill(tabuUntil, 0);
    }

    private void move(int j, int y) {
        int x = a[j];
        comm += cost.cost(j, y) - cost.cost(j, x);
        cost.moved(j, x, y);
        loads.remove(j, x);
        loads.add(j, y);
        a[j] = y;
        refreshViolation(x);
        refreshViolation(y);
    }

    /** Sets the walk to assignment s and rebuilds every cached sum exactly. */
    private void load(int[] s) {
        System.arraycopy(s, 0, a, 0, n);
        loads.clear();
        for (int i = 0; i < n; i++) {
            loads.add(i, a[i]);
        }
        cost.load(a);
        comm = p.communication(a);
        violatedDevices = 0;
        for (int d = 0; d < m; d++) {
            violation[d] = 0;
            refreshViolation(d);
        }
    }

    private void refreshViolation(int d) {
        boolean was = violation[d] > 0;
        violation[d] = loads.relativeExcess(d);
        boolean is = violation[d] > 0;
        violatedDevices += (is ? 1 : 0) - (was ? 1 : 0);
    }

    private double objective() {
        return p.commScale * comm + loads.mismatch();
    }

    /** A penalty on the scale of one average edge's share of the objective, from which λ adapts. */
    private double initialPenalty() {
        int edges = Math.max(1, p.edgeFrom.length);
        double perEdge = p.commScale * p.totalVolume * p.maxDist / edges;
        return Math.max(MIN_PENALTY, 10 * perEdge + 0.1 * p.complexityMatchWeight);
    }
}
