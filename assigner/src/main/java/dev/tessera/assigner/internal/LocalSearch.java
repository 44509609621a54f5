package dev.tessera.assigner.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The discrete phase: repair, descent, exact windows, iterated local search, tabu walks and ruin and recreate on
 * the exact objective. Not thread-safe; one instance per run.
 *
 * <ul>
 *   <li><b>Repair.</b> While a device breaks its memory or balance limit, move off it the model whose move
 *       raises the objective least per unit of violation removed; when no single move fits anywhere, try swaps
 *       that shrink the violation.
 *   <li><b>Descent.</b> A worklist of models (all at first, then the neighbours of every model that moved): for
 *       each, the best feasible move (Fiduccia–Mattheyses style gain over all devices), and when there is none,
 *       the best improving feasible swap (Kernighan–Lin style) with candidates drawn from all models on small
 *       instances and from graph neighbours plus a random sample on large ones. Stops at a local optimum.
 *   <li><b>Iterated local search.</b> From the best solution, kick a connected segment (a BFS ball, which
 *       suits layer pipelines) or a few random models to one random device, repair, descend, and keep the result
 *       when it is no worse (sideways moves let the search cross plateaus). The number of kicks is fixed by the
 *       problem size and the effort option, never by the clock, so the result depends only on the seed.
 *   <li><b>Exact windows.</b> {@link WindowSearch} re-solves runs of consecutive models exactly, the rest fixed.
 *   <li><b>Tabu walk.</b> On instances small enough for an O(n·m) scan per move, the result of each start's search
 *       is walked by {@link TabuSearch}, which may cross infeasible assignments under an adaptive penalty.
 *   <li><b>Ruin and recreate.</b> On the two finalists: stretches of the order freed and re-placed by a beam
 *       search ({@link BeamSearch} with the rest fixed), so several devices can trade whole runs of layers.
 * </ul>
 */
public final class LocalSearch {
    private static final int FULL_SWAP_LIMIT = 400;
    private static final int SWAP_SAMPLE = 12;
    /** Largest segment a kick moves (three times this for a pipeline shift): kicks stay local on big graphs. */
    private static final int MAX_KICK = 64;
    /** Rounds of (iterated local search, tabu walk) that each finalist gets. */
    private static final int ROUNDS = 4;
    /** n·m above which only the {@link #LARGE_STARTS} best repaired starts are descended and searched. */
    private static final long LARGE = 100_000;
    private static final int LARGE_STARTS = 3;
    /** Exact windows pay off on layer graphs of a few hundred models; beyond that they cost more than they find. */
    private static final int WINDOW_LIMIT = 500;
    /** Ruin and recreate: the widest beam, the expansions a sweep may cost, the offsets per stretch length. */
    private static final int RECREATE_WIDTH = 3_000;
    private static final long RECREATE_BUDGET = 6_000_000;
    private static final int RECREATE_OFFSETS = 12;

    private final Problem p;
    private final SplittableRandom rng;
    private final int[] adjStart;
    private final int[] adj;
    private int[] topo;
    private WindowSearch windows;
    /** Scratch for {@link #bestSwap}: the communication of one model's edges on each device. */
    private final double[] costOfI;

    public LocalSearch(Problem p, long seed) {
        this.p = p;
        this.rng = new SplittableRandom(seed);
        int[][] undirected = undirectedAdjacency(p);
        this.adjStart = undirected[0];
        this.adj = undirected[1];
        this.costOfI = new double[p.m];
    }

    /** The undirected neighbours of each model in CSR form: {start (n + 1), neighbours}; self loops dropped. */
    static int[][] undirectedAdjacency(Problem p) {
        int[] start = new int[p.n + 1];
        for (int i = 0; i < p.n; i++) {
            start[i + 1] = start[i] + (p.outStart[i + 1] - p.outStart[i]) + (p.inStart[i + 1] - p.inStart[i]);
        }
        int[] nbr = new int[start[p.n]];
        for (int i = 0; i < p.n; i++) {
            int k = start[i];
            for (int j = p.outStart[i]; j < p.outStart[i + 1]; j++) {
                nbr[k++] = p.outNbr[j];
            }
            for (int j = p.inStart[i]; j < p.inStart[i + 1]; j++) {
                nbr[k++] = p.inNbr[j];
            }
        }
        return new int[][] {start, nbr};
    }

    /**
     * Repairs, descends and improves each start, and returns the best feasible assignment found, or null when
     * no start could be made feasible. Every start gets a quarter of {@code kicks}; the two best then share the
     * rest of the budget of all starts, since the search pays off most on the most promising basins, and end with
     * {@link #recreate ruin and recreate}.
     *
     * @param starts candidate assignments (each entry a device per model; may break constraints)
     * @param kicks iterated-local-search kicks per start
     */
    public int[] solve(List<int[]> starts, int kicks, ProgressSink progress) {
        List<SearchState> pool = new ArrayList<>();
        int total = starts.size() + 2;
        int done = 0;
        int first = Math.max(1, kicks / 4);
        long tabuIterations = tabuIterations();
        TabuSearch tabu = tabuIterations > 0 ? new TabuSearch(p, rng, adjStart, adj) : null;
        List<SearchState> repaired = new ArrayList<>();
        for (int[] start : starts) {
            SearchState s = new SearchState(p, start);
            if (repair(s)) {
                repaired.add(s);
            } else {
                progress.report(++done, total);
            }
        }
        if ((long) p.n * p.m > LARGE && repaired.size() > LARGE_STARTS) {
            // a full descent costs seconds at this size: only the most promising repaired starts get one
            repaired.sort(java.util.Comparator.comparingDouble(SearchState::objective));
            done += repaired.size() - LARGE_STARTS;
            progress.report(done, total);
            repaired = new ArrayList<>(repaired.subList(0, LARGE_STARTS));
        }
        for (SearchState s : repaired) {
            descend(s, allModels());
            windowSweep(s);
            pool.add(intensify(iterate(s, first), tabu, tabuIterations));
            progress.report(++done, total);
        }
        if (pool.isEmpty()) {
            return null;
        }
        pool.sort(java.util.Comparator.comparingDouble(SearchState::objective));
        long rest = Math.max(0, (long) kicks * repaired.size() - (long) first * repaired.size());
        SearchState best = pool.get(0);
        int finalists = Math.min(2, pool.size());
        for (int k = 0; k < finalists; k++) {
            long share = rest / finalists;
            SearchState s = pool.get(k);
            for (int round = 0; round < ROUNDS; round++) {
                s = iterate(s, (int) Math.min(Integer.MAX_VALUE, share / ROUNDS));
                s = intensify(s, tabu, tabuIterations);
            }
            s = recreate(s);
            if (s.objective() < best.objective() - Problem.IMPROVEMENT) {
                best = s;
            }
            progress.report(++done, total);
        }
        return best.a.clone();
    }

    /**
     * Ruin and recreate: frees a stretch of the topological order (a third, a half or two thirds of it, at
     * {@value #RECREATE_OFFSETS} + 1 evenly spaced offsets) and re-places it by beam search with every other model
     * fixed, keeping the result when it is better; sweeps again while a sweep finds something (at most three).
     * This is the move that memory-tight layer graphs need and single moves cannot make: several devices trade whole
     * runs of layers at once. The beam width spends about {@value #RECREATE_BUDGET} expansions per sweep (at most
     * {@value #RECREATE_WIDTH}); graphs for which that leaves a width under 100 skip the move.
     */
    private SearchState recreate(SearchState s) {
        List<int[]> ranges = recreateRanges();
        long perWidth = Math.max(1L, (long) ranges.size() * (p.n / 2) * p.m);
        int width = (int) Math.min(RECREATE_WIDTH, RECREATE_BUDGET / perWidth);
        if (width < 100 || p.n < 6) {
            return s;
        }
        int[] order = topo();
        boolean improved = true;
        for (int round = 0; improved && round < 3; round++) {
            improved = false;
            for (int[] range : ranges) {
                int[] placed = new BeamSearch(p, Arrays.copyOfRange(order, range[0], range[1]), s.a).run(width);
                if (placed != null && p.objective(placed) < s.objective() - Problem.IMPROVEMENT) {
                    SearchState t = new SearchState(p, placed);
                    descend(t, allModels());
                    s = t;
                    improved = true;
                }
            }
        }
        return s;
    }

    /** [from, to) stretches of the topological order for {@link #recreate}. */
    private List<int[]> recreateRanges() {
        List<int[]> ranges = new ArrayList<>();
        for (int len : new int[] {p.n / 3, p.n / 2, 2 * p.n / 3}) {
            for (int k = 0; k <= RECREATE_OFFSETS; k++) {
                int lo = (int) ((long) (p.n - len) * k / RECREATE_OFFSETS);
                ranges.add(new int[] {lo, lo + len});
            }
        }
        return ranges;
    }

    /** A tabu walk from s; returns its result when that is better, else s. */
    private SearchState intensify(SearchState s, TabuSearch tabu, long iterations) {
        if (tabu == null) {
            return s;
        }
        int[] walked = tabu.run(s.a, iterations);
        if (walked == null || p.objective(walked) >= s.objective() - Problem.IMPROVEMENT) {
            return s;
        }
        SearchState t = new SearchState(p, walked);
        descend(t, allModels());
        return t;
    }

    /**
     * Tabu iterations per start: about three million move evaluations (n·m each), at most 20,000 iterations, and
     * none when that leaves fewer than 1,000 (large instances, where an O(n·m) iteration is too dear).
     */
    private long tabuIterations() {
        long perIteration = Math.max(1L, (long) p.n * p.m);
        long iterations = Math.min(20_000L, 3_000_000L / perIteration);
        return iterations < 1_000 ? 0 : iterations;
    }

    /** Callback for progress in units of starts. */
    @FunctionalInterface
    public interface ProgressSink {
        void report(long done, long total);
    }

    // ---------------------------------------------------------------- constructions

    /**
     * Greedy insertion in the given order: each model goes to the feasible device where it adds least to the
     * objective (ties: the device with the most free memory). Models that fit nowhere go to the device they
     * overfill least; repair deals with them.
     */
    public int[] greedy(int[] order) {
        SearchState s = new SearchState(p);
        for (int i : order) {
            s.gather(i);
            int bestD = -1;
            double bestCost = Double.POSITIVE_INFINITY;
            double bestFree = Double.NEGATIVE_INFINITY;
            for (int d = 0; d < p.m; d++) {
                if (!s.fits(i, d)) {
                    continue;
                }
                double cost = p.commScale * s.commCost(d) + s.mismatchDelta(p.complexity[i], -1, d);
                double free = p.capacity[d] - s.load[d];
                if (cost < bestCost - Problem.IMPROVEMENT
                        || (cost <= bestCost + Problem.IMPROVEMENT && free > bestFree)) {
                    bestD = d;
                    bestCost = cost;
                    bestFree = free;
                }
            }
            s.place(i, bestD >= 0 ? bestD : leastOverfilled(s, i));
        }
        return s.a.clone();
    }

    private int leastOverfilled(SearchState s, int i) {
        int best = 0;
        double bestOver = Double.POSITIVE_INFINITY;
        for (int d = 0; d < p.m; d++) {
            if (!p.allowed(i, d)) {
                continue;
            }
            double over = (s.load[d] + p.demand[i]) / Math.max(p.capacity[d], 1e-9);
            if (over < bestOver) {
                best = d;
                bestOver = over;
            }
        }
        return best;
    }

    /**
     * Fills devices one after another along the given order (a pipeline cut): each device takes models until
     * its memory, or {@code slack} times its fair share of complexity, is reached. Devices with no power only
     * take models of zero complexity that fit nowhere else.
     */
    public int[] pipeline(int[] order, int[] deviceOrder, double slack) {
        SearchState s = new SearchState(p);
        int di = 0;
        for (int i : order) {
            while (di < deviceOrder.length - 1 && !fitsPipeline(s, i, deviceOrder[di], slack)) {
                di++;
            }
            int d = deviceOrder[di];
            s.place(i, s.fits(i, d) ? d : leastOverfilled(s, i));
        }
        return s.a.clone();
    }

    private boolean fitsPipeline(SearchState s, int i, int d, double slack) {
        if (!s.fits(i, d)) {
            return false;
        }
        double target = slack * p.powerShare[d] * p.totalComplexity;
        return p.complexity[i] == 0 || s.comp[d] == 0 || s.comp[d] + p.complexity[i] <= target;
    }

    /**
     * The cheapest cut of {@code order} into consecutive segments, segment t on device {@code deviceOrder[t]}
     * (segments may be empty), such that each segment meets its device's memory and balance limits. A cut edge
     * costs its volume (distance 1), so this is exact for identical devices and a start otherwise. Dynamic
     * programming over cut positions, O(n·L·(m + degree)) for segments of at most L models (the largest device's
     * limits bound L); returns null when no cut of this order is feasible or the order is too long for it.
     */
    public int[] pipelineCut(int[] order, int[] deviceOrder) {
        int n = p.n;
        if (n == 0 || n > 1500) {
            return null;
        }
        int[] pos = new int[n];
        for (int k = 0; k < n; k++) {
            pos[order[k]] = k;
        }
        double[] dem = new double[n + 1];
        double[] cmp = new double[n + 1];
        for (int k = 0; k < n; k++) {
            dem[k + 1] = dem[k] + p.demand[order[k]];
            cmp[k + 1] = cmp[k] + p.complexity[order[k]];
        }
        // edges by their lower end in the order: hiOf/volOf[loStart[j] .. loStart[j + 1]) are those with lo == j
        int[] loStart = new int[n + 1];
        for (int e = 0; e < p.edgeFrom.length; e++) {
            int lo = Math.min(pos[p.edgeFrom[e]], pos[p.edgeTo[e]]);
            if (lo != Math.max(pos[p.edgeFrom[e]], pos[p.edgeTo[e]])) {
                loStart[lo + 1]++;
            }
        }
        for (int j = 0; j < n; j++) {
            loStart[j + 1] += loStart[j];
        }
        int[] hiOf = new int[loStart[n]];
        double[] volOf = new double[loStart[n]];
        int[] fill = Arrays.copyOf(loStart, n);
        for (int e = 0; e < p.edgeFrom.length; e++) {
            int lo = Math.min(pos[p.edgeFrom[e]], pos[p.edgeTo[e]]);
            int hi = Math.max(pos[p.edgeFrom[e]], pos[p.edgeTo[e]]);
            if (lo != hi) {
                hiOf[fill[lo]] = hi;
                volOf[fill[lo]++] = p.edgeVolume[e];
            }
        }
        double maxCap = 0;
        double maxLim = 0;
        for (int d : deviceOrder) {
            maxCap = Math.max(maxCap, p.capacity[d] + Problem.tolerance(p.capacity[d]));
            maxLim = Math.max(maxLim, p.complexityLimit == null ? Double.POSITIVE_INFINITY
                    : p.complexityLimit[d] + Problem.tolerance(p.complexityLimit[d]));
        }
        int segments = deviceOrder.length;
        double[][] best = new double[segments + 1][n + 1];
        int[][] from = new int[segments + 1][n + 1];
        for (double[] row : best) {
            Arrays.fill(row, Double.POSITIVE_INFINITY);
        }
        best[0][0] = 0;
        // cross[k - 1 - j]: volume of edges with j <= lo < k <= hi, the traffic a segment [j, k) sends past k
        double[] cross = new double[n];
        for (int k = 0; k <= n; k++) {
            int reach = k;
            double running = 0;
            while (reach > 0 && dem[k] - dem[reach - 1] <= maxCap && cmp[k] - cmp[reach - 1] <= maxLim) {
                int j = --reach;
                if (k < n) {
                    for (int q = loStart[j]; q < loStart[j + 1]; q++) {
                        if (hiOf[q] >= k) {
                            running += volOf[q];
                        }
                    }
                }
                cross[k - 1 - j] = running;
            }
            for (int t = 1; t <= segments; t++) {
                int d = deviceOrder[t - 1];
                double lim = p.complexityLimit == null
                        ? Double.POSITIVE_INFINITY
                        : p.complexityLimit[d] + Problem.tolerance(p.complexityLimit[d]);
                double cap = p.capacity[d] + Problem.tolerance(p.capacity[d]);
                best[t][k] = best[t - 1][k];
                from[t][k] = k;
                for (int j = k - 1; j >= reach; j--) {
                    if (dem[k] - dem[j] > cap || cmp[k] - cmp[j] > lim) {
                        break;
                    }
                    if (best[t - 1][j] == Double.POSITIVE_INFINITY) {
                        continue;
                    }
                    double cost = best[t - 1][j] + cross[k - 1 - j];
                    if (cost < best[t][k]) {
                        best[t][k] = cost;
                        from[t][k] = j;
                    }
                }
            }
        }
        if (best[segments][n] == Double.POSITIVE_INFINITY) {
            return null;
        }
        int[] a = new int[n];
        int k = n;
        for (int t = segments; t >= 1; t--) {
            int j = from[t][k];
            for (int q = j; q < k; q++) {
                a[order[q]] = deviceOrder[t - 1];
            }
            k = j;
        }
        return a;
    }

    /** The best complete placement a beam of the given width finds along {@code order}, or null. */
    public int[] beam(int[] order, int width) {
        return new BeamSearch(p, order).run(width);
    }

    /** A depth-first order following edge direction (branches stay together), from the sources in index order. */
    public int[] depthFirstOrder() {
        int[] indeg = new int[p.n];
        for (int e = 0; e < p.edgeFrom.length; e++) {
            if (p.edgeFrom[e] != p.edgeTo[e]) {
                indeg[p.edgeTo[e]]++;
            }
        }
        int[] order = new int[p.n];
        int count = 0;
        boolean[] done = new boolean[p.n];
        int[] remaining = indeg.clone();
        java.util.ArrayDeque<Integer> stack = new java.util.ArrayDeque<>();
        for (int r = 0; r < p.n && count < p.n; r++) {
            if (done[r] || remaining[r] > 0 && count > 0) {
                continue;
            }
            stack.push(r);
            while (!stack.isEmpty()) {
                int i = stack.pop();
                if (done[i]) {
                    continue;
                }
                done[i] = true;
                order[count++] = i;
                for (int k = p.outStart[i + 1] - 1; k >= p.outStart[i]; k--) {
                    int j = p.outNbr[k];
                    if (!done[j] && --remaining[j] <= 0) {
                        stack.push(j);
                    }
                }
            }
        }
        for (int i = 0; i < p.n; i++) {
            if (!done[i]) {
                order[count++] = i;
            }
        }
        return order;
    }

    /** A breadth-first order of the undirected graph, starting from model {@code root} and then any unvisited. */
    public int[] bfsOrder(int root) {
        int[] order = new int[p.n];
        boolean[] seen = new boolean[p.n];
        int head = 0;
        int tail = 0;
        for (int r = 0; r < p.n; r++) {
            int start = (root + r) % p.n;
            if (seen[start]) {
                continue;
            }
            seen[start] = true;
            order[tail++] = start;
            while (head < tail) {
                int i = order[head++];
                for (int k = adjStart[i]; k < adjStart[i + 1]; k++) {
                    int j = adj[k];
                    if (!seen[j]) {
                        seen[j] = true;
                        order[tail++] = j;
                    }
                }
            }
        }
        return order;
    }

    private int[] topo() {
        if (topo == null) {
            topo = topologicalOrder();
        }
        return topo;
    }

    /** Kahn's topological order of the directed graph, lowest index first among ready models (cycles broken by index). */
    public int[] topologicalOrder() {
        return topologicalOrder(true);
    }

    /**
     * Kahn's topological order, taking the lowest or the highest index first among ready models: on graphs with
     * parallel branches the two orders interleave the branches differently, which gives pipeline cuts other seams.
     */
    public int[] topologicalOrder(boolean lowestFirst) {
        int[] indeg = new int[p.n];
        for (int e = 0; e < p.edgeFrom.length; e++) {
            if (p.edgeFrom[e] != p.edgeTo[e]) {
                indeg[p.edgeTo[e]]++;
            }
        }
        int[] order = new int[p.n];
        boolean[] done = new boolean[p.n];
        java.util.PriorityQueue<Integer> ready = new java.util.PriorityQueue<>(
                lowestFirst ? java.util.Comparator.<Integer>naturalOrder() : java.util.Comparator.<Integer>reverseOrder());
        for (int i = 0; i < p.n; i++) {
            if (indeg[i] == 0) {
                ready.add(i);
            }
        }
        int count = 0;
        int nextForced = 0;
        while (count < p.n) {
            if (ready.isEmpty()) {
                while (done[nextForced]) {
                    nextForced++;
                }
                ready.add(nextForced);
                indeg[nextForced] = 0;
            }
            int i = ready.poll();
            if (done[i]) {
                continue;
            }
            done[i] = true;
            order[count++] = i;
            for (int k = p.outStart[i]; k < p.outStart[i + 1]; k++) {
                int j = p.outNbr[k];
                if (!done[j] && --indeg[j] == 0) {
                    ready.add(j);
                }
            }
        }
        return order;
    }

    private int[] allModels() {
        int[] order = new int[p.n];
        for (int i = 0; i < p.n; i++) {
            order[i] = i;
        }
        return order;
    }

    // ---------------------------------------------------------------- repair

    /** Removes every memory and balance violation; returns false when it cannot. */
    boolean repair(SearchState s) {
        int guard = 4 * p.n * p.m + 16;
        while (guard-- > 0) {
            int worst = worstViolated(s);
            if (worst < 0) {
                return true;
            }
            if (!moveOff(s, worst) && !swapOff(s, worst)) {
                return false;
            }
        }
        return s.feasible();
    }

    private int worstViolated(SearchState s) {
        int worst = -1;
        double worstAmount = 0;
        for (int d = 0; d < p.m; d++) {
            double v = p.relativeExcess(d, s.load[d], s.comp[d]);
            if (v > worstAmount) {
                worst = d;
                worstAmount = v;
            }
        }
        return worst;
    }

    /** Moves the cheapest model (objective increase per unit of violation removed) off device d. */
    private boolean moveOff(SearchState s, int d) {
        double memOver = s.memoryViolation(d);
        double compOver = s.balanceViolation(d);
        int bestI = -1;
        int bestB = -1;
        double bestScore = Double.POSITIVE_INFINITY;
        for (int i = 0; i < p.n; i++) {
            if (s.a[i] != d) {
                continue;
            }
            double relief = relief(p.demand[i], memOver) + relief(p.complexity[i], compOver);
            if (relief <= 0) {
                continue;
            }
            s.gather(i);
            double here = s.commCost(d);
            for (int b = 0; b < p.m; b++) {
                if (b != d && s.fits(i, b)) {
                    double score = (s.moveDelta(i, b, here) + 1) / relief;
                    if (score < bestScore) {
                        bestScore = score;
                        bestI = i;
                        bestB = b;
                    }
                }
            }
        }
        if (bestI < 0) {
            return false;
        }
        s.place(bestI, bestB);
        return true;
    }

    private static double relief(double amount, double over) {
        return over <= 0 ? 0 : Math.min(amount, over) / over;
    }

    /** Swaps a model on violated device d with a smaller one elsewhere, when that shrinks the violation. */
    private boolean swapOff(SearchState s, int d) {
        double before = totalViolation(s);
        int bestI = -1;
        int bestJ = -1;
        double bestAfter = before;
        for (int i = 0; i < p.n; i++) {
            if (s.a[i] != d) {
                continue;
            }
            for (int j = 0; j < p.n; j++) {
                int b = s.a[j];
                if (b == d || !p.allowed(i, b) || !p.allowed(j, d)) {
                    continue;
                }
                s.place(i, b);
                s.place(j, d);
                boolean ok = !s.violated(b);
                double after = totalViolation(s);
                s.place(j, b);
                s.place(i, d);
                if (ok && after < bestAfter - 1e-9) {
                    bestAfter = after;
                    bestI = i;
                    bestJ = j;
                }
            }
        }
        if (bestI < 0) {
            return false;
        }
        int b = s.a[bestJ];
        s.place(bestI, b);
        s.place(bestJ, d);
        return true;
    }

    private double totalViolation(SearchState s) {
        double v = 0;
        for (int d = 0; d < p.m; d++) {
            v += p.relativeExcess(d, s.load[d], s.comp[d]);
        }
        return v;
    }

    // ---------------------------------------------------------------- descent

    /** Improves s to a local optimum for moves and swaps, starting from the given models. */
    void descend(SearchState s, int[] initial) {
        ArrayDeque<Integer> work = new ArrayDeque<>();
        boolean[] queued = new boolean[p.n];
        for (int i : initial) {
            if (!queued[i]) {
                queued[i] = true;
                work.add(i);
            }
        }
        long budget = 50L * p.n + 1000;
        while (!work.isEmpty() && budget-- > 0) {
            int i = work.poll();
            queued[i] = false;
            int from = s.a[i];
            int moved = bestMove(s, i);
            if (moved < 0) {
                moved = bestSwap(s, i);
            }
            if (moved >= 0) {
                enqueueAround(i, work, queued);
                if (moved != i) {
                    enqueueAround(moved, work, queued);
                }
                if (!queued[i] && s.a[i] != from) {
                    queued[i] = true;
                    work.add(i);
                }
            }
        }
        s.resync();
    }

    private void enqueueAround(int i, ArrayDeque<Integer> work, boolean[] queued) {
        for (int k = adjStart[i]; k < adjStart[i + 1]; k++) {
            int j = adj[k];
            if (!queued[j]) {
                queued[j] = true;
                work.add(j);
            }
        }
    }

    /** Applies the best improving feasible move of i; returns i if it moved, else -1. */
    private int bestMove(SearchState s, int i) {
        int from = s.a[i];
        s.gather(i);
        double here = s.commCost(from);
        int bestB = -1;
        double bestDelta = -Problem.IMPROVEMENT;
        for (int b = 0; b < p.m; b++) {
            if (b != from && s.fits(i, b)) {
                double delta = s.moveDelta(i, b, here);
                if (delta < bestDelta) {
                    bestDelta = delta;
                    bestB = b;
                }
            }
        }
        if (bestB < 0) {
            return -1;
        }
        s.place(i, bestB);
        return i;
    }

    /** Applies the best improving feasible swap of i with another model; returns that model, or -1. */
    private int bestSwap(SearchState s, int i) {
        int a = s.a[i];
        int bestJ = -1;
        double bestDelta = -Problem.IMPROVEMENT;
        s.gather(i);
        for (int x = 0; x < p.m; x++) {
            costOfI[x] = s.commCost(x);
        }
        for (int j : swapCandidates(s, i)) {
            int b = s.a[j];
            if (b == a || !swapFits(s, i, j)) {
                continue;
            }
            double delta = s.swapDelta(i, j, costOfI);
            if (delta < bestDelta) {
                bestDelta = delta;
                bestJ = j;
            }
        }
        if (bestJ < 0) {
            return -1;
        }
        int b = s.a[bestJ];
        s.place(i, b);
        s.place(bestJ, a);
        return bestJ;
    }

    private boolean swapFits(SearchState s, int i, int j) {
        int a = s.a[i];
        int b = s.a[j];
        return p.withinLimits(a, s.load[a] - p.demand[i] + p.demand[j], s.comp[a] - p.complexity[i] + p.complexity[j])
                && p.withinLimits(b, s.load[b] - p.demand[j] + p.demand[i], s.comp[b] - p.complexity[j] + p.complexity[i]);
    }

    private int[] swapCandidates(SearchState s, int i) {
        if (p.n <= FULL_SWAP_LIMIT) {
            return allModels();
        }
        int deg = adjStart[i + 1] - adjStart[i];
        int[] c = new int[deg + SWAP_SAMPLE];
        System.arraycopy(adj, adjStart[i], c, 0, deg);
        for (int k = 0; k < SWAP_SAMPLE; k++) {
            c[deg + k] = rng.nextInt(p.n);
        }
        return c;
    }

    // ---------------------------------------------------------------- exact windows

    /**
     * Re-optimises windows of consecutive models (in topological order) exactly, sliding with half-window
     * strides, until a full sweep finds nothing better. Each window is solved by {@link WindowSearch}.
     */
    void windowSweep(SearchState s) {
        int k = windowSize();
        if (k < 3 || p.n > WINDOW_LIMIT) {
            return;
        }
        int[] order = topo();
        boolean improved = true;
        for (int round = 0; improved && round < 8; round++) {
            improved = false;
            for (int from = 0; from < p.n; from += Math.max(1, k / 2)) {
                int[] window = Arrays.copyOfRange(order, from, Math.min(p.n, from + k));
                improved |= optimizeWindow(s, window);
            }
        }
        s.resync();
    }

    /** The window size that keeps one window's enumeration near 20,000 leaves. */
    private int windowSize() {
        if (p.m < 2) {
            return 0;
        }
        int k = (int) Math.floor(Math.log(20_000) / Math.log(p.m));
        return Math.max(2, Math.min(k, Math.min(10, p.n)));
    }

    /** Solves the window exactly with everything else fixed; returns whether the objective improved. */
    boolean optimizeWindow(SearchState s, int[] window) {
        if (windows == null) {
            windows = new WindowSearch(p);
        }
        return windows.optimize(s, window);
    }

    // ---------------------------------------------------------------- iterated local search

    private SearchState iterate(SearchState start, int kicks) {
        SearchState best = start;
        SearchState current = start.copy();
        SearchState trial = start.copy();
        for (int k = 0; k < kicks; k++) {
            trial.copyFrom(current);
            int[] kicked = kick(trial);
            if (!repair(trial)) {
                continue;
            }
            descend(trial, kicked);
            if (trial.objective() < best.objective() - Problem.IMPROVEMENT) {
                windowSweep(trial);
            }
            if (trial.objective() <= current.objective() + Problem.IMPROVEMENT) {
                SearchState t = current;
                current = trial;
                trial = t;
                if (current.objective() < best.objective() - Problem.IMPROVEMENT) {
                    best = current.copy();
                }
            }
        }
        return best;
    }

    /**
     * Moves a random range of the topological order (a pipeline boundary shift, onto the device of the model just
     * before or after it), a connected ball, or a few random models, to one device; returns what to revisit.
     */
    private int[] kick(SearchState s) {
        int target = rng.nextInt(p.m);
        int[] moved;
        int kind = rng.nextInt(5);
        if (kind <= 2) {
            int[] order = topo();
            int len = 1 + rng.nextInt(Math.max(1, kind == 2 ? Math.min(p.n / 3, MAX_KICK * 3) : Math.min(p.n / 8, MAX_KICK)));
            int from = rng.nextInt(p.n);
            int to = Math.min(p.n, from + len);
            moved = Arrays.copyOfRange(order, from, to);
            if (kind == 0 && from > 0) {
                target = s.a[order[from - 1]];
            } else if (kind == 1 && to < p.n) {
                target = s.a[order[to]];
            }
        } else {
            moved = kind == 3 ? randomModels() : segment(rng.nextInt(p.n));
        }
        List<Integer> revisit = new ArrayList<>();
        for (int i : moved) {
            if (p.allowed(i, target)) {
                s.place(i, target);
            }
            revisit.add(i);
            for (int k = adjStart[i]; k < adjStart[i + 1]; k++) {
                revisit.add(adj[k]);
            }
        }
        return revisit.stream().mapToInt(Integer::intValue).toArray();
    }

    private int[] randomModels() {
        int k = 1 + rng.nextInt(Math.max(1, Math.min(4, p.n)));
        int[] r = new int[k];
        for (int t = 0; t < k; t++) {
            r[t] = rng.nextInt(p.n);
        }
        return r;
    }

    /** A breadth-first ball of random size (up to an eighth of the models, at most MAX_KICK) around root. */
    private int[] segment(int root) {
        return ball(adjStart, adj, root, 1 + rng.nextInt(Math.max(1, Math.min(p.n / 8, MAX_KICK))));
    }

    /** The first {@code size} models (or fewer) reached by breadth-first search of the undirected graph from root. */
    static int[] ball(int[] adjStart, int[] adj, int root, int size) {
        int[] ball = new int[size];
        boolean[] seen = new boolean[adjStart.length - 1];
        int head = 0;
        int tail = 0;
        ball[tail++] = root;
        seen[root] = true;
        while (head < tail && tail < size) {
            int i = ball[head++];
            for (int k = adjStart[i]; k < adjStart[i + 1] && tail < size; k++) {
                int j = adj[k];
                if (!seen[j]) {
                    seen[j] = true;
                    ball[tail++] = j;
                }
            }
        }
        return Arrays.copyOf(ball, tail);
    }
}
