package dev.tessera.assigner.internal.start;

import dev.tessera.assigner.internal.Loads;
import dev.tessera.assigner.internal.Problem;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Not thread-safe (one instance per order, reusable); it keeps the order and fixed placement it is given, and the
 * caller owns the placement returned. A start built by beam search: models are placed one at a time along an order
 * (topological, so that a layer graph's traffic is settled as the sweep passes), and the {@code width} cheapest partial
 * placements survive each step. Unlike a pipeline cut, a device may take several separate stretches of the order, which
 * is what memory-tight graphs need (one device holds a huge early layer, the others pack many runs).
 *
 * <p>A partial placement is summarised by the devices of its <em>live</em> models (placed models with an edge to a
 * model not yet placed) and its per-device loads: two partial placements with the same summary have the same futures,
 * so only the cheaper is kept. Interchangeable devices (same capacity, limit, power share and distances) are opened in
 * index order, which removes their permutations from the beam. The cost so far is exact for every edge whose ends are
 * both placed, and partial placements that break a memory or balance limit are dropped, so every complete placement
 * returned is feasible.
 *
 * <p>The order may hold only some models, the others fixed where a given placement puts them: their loads and their
 * edges to placed models count from the first step. Ruin and recreate uses this to re-place a stretch of a placement.
 * Parents are expanded cheapest first, and a child that costs at least as much as the {@code width} cheapest new
 * summaries so far is not built: it could not make the cut.
 */
public final class BeamSearch {
    /** Loads are compared in steps of 1/200 of a device's limit when merging equivalent partial placements. */
    private static final double BUCKETS = 200;
    private final Problem p;
    private final int[] order;
    /** The device of each model outside the order, or null when the order holds every model. */
    private final int[] fixed;
    /** pos[i]: model i's step in the order, or -1 for a fixed model. */
    private final int[] pos;
    /** live[k]: the models placed before step k that still have an edge to a model at step k or later. */
    private final int[][] live;
    /** Lowest device index interchangeable with each device (itself when it has no twin). */
    private final int[] twinClass;
    /** What is left from each step on: its demand, largest demand, complexity, demand of models with complexity. */
    private final double[] restDemand;
    private final double[] restMaxDemand;
    private final double[] restComp;
    private final double[] restCompDemand;
    private final double[] restMinComp;
    private final double[] restMaxComp;
    /** Scratch: the device of each placed or fixed model while a parent is expanded, else -1. */
    private final int[] deviceOf;

    public BeamSearch(Problem p, int[] order) {
        this(p, order, null);
    }

    /**
     * A beam over the models of {@code order} only, every other model staying where {@code fixed} puts it
     * ({@code fixed[i] >= 0}); with {@code fixed} null, order must hold every model. The fixed models' loads and
     * their edges to the placed models count from the start, so this re-creates part of a placement.
     */
    public BeamSearch(Problem p, int[] order, int[] fixed) {
        this.p = p;
        this.order = order;
        this.fixed = fixed;
        int n = order.length;
        this.pos = new int[p.n];
        Arrays.fill(pos, -1);
        for (int k = 0; k < n; k++) {
            pos[order[k]] = k;
        }
        this.live = liveSets();
        this.twinClass = twinClasses();
        this.restDemand = new double[n + 1];
        this.restMaxDemand = new double[n + 1];
        this.restComp = new double[n + 1];
        this.restCompDemand = new double[n + 1];
        this.restMinComp = new double[n + 1];
        this.restMaxComp = new double[n + 1];
        suffixSums();
        this.deviceOf = new int[p.n];
    }

    /** live[k] for every step, from the last step at which each model still has a neighbour to come. */
    private int[][] liveSets() {
        int n = order.length;
        int[] lastUse = new int[p.n];
        for (int i : order) {
            lastUse[i] = pos[i];
            for (int k = p.outStart[i]; k < p.outStart[i + 1]; k++) {
                lastUse[i] = Math.max(lastUse[i], pos[p.outNbr[k]]);
            }
            for (int k = p.inStart[i]; k < p.inStart[i + 1]; k++) {
                lastUse[i] = Math.max(lastUse[i], pos[p.inNbr[k]]);
            }
        }
        int[][] sets = new int[n + 1][];
        List<Integer> current = new ArrayList<>();
        for (int k = 0; k <= n; k++) {
            final int step = k;
            current.removeIf(i -> lastUse[i] < step);
            sets[k] = current.stream().mapToInt(Integer::intValue).toArray();
            if (k < n && lastUse[order[k]] > k) {
                current.add(order[k]);
            }
        }
        return sets;
    }

    private void suffixSums() {
        int n = order.length;
        restMinComp[n] = Double.POSITIVE_INFINITY;
        for (int k = n - 1; k >= 0; k--) {
            int i = order[k];
            restDemand[k] = restDemand[k + 1] + p.demand[i];
            restMaxDemand[k] = Math.max(restMaxDemand[k + 1], p.demand[i]);
            restComp[k] = restComp[k + 1] + p.complexity[i];
            restCompDemand[k] = restCompDemand[k + 1] + (p.complexity[i] > 0 ? p.demand[i] : 0);
            restMaxComp[k] = Math.max(restMaxComp[k + 1], p.complexity[i]);
            restMinComp[k] = p.complexity[i] > 0 ? Math.min(restMinComp[k + 1], p.complexity[i]) : restMinComp[k + 1];
        }
    }

    private int[] twinClasses() {
        int[] cls = new int[p.m];
        for (int d = 0; d < p.m; d++) {
            cls[d] = d;
            for (int c = 0; c < d; c++) {
                if (cls[c] == c && interchangeable(c, d)) {
                    cls[d] = c;
                    break;
                }
            }
        }
        return cls;
    }

    private boolean interchangeable(int c, int d) {
        if (p.capacity[c] != p.capacity[d] || p.powerShare[c] != p.powerShare[d]
                || (p.complexityLimit != null && p.complexityLimit[c] != p.complexityLimit[d])
                || p.dist[c][d] != p.dist[d][c]) {
            return false;
        }
        for (int x = 0; x < p.m; x++) {
            if (x != c && x != d && (p.dist[c][x] != p.dist[d][x] || p.dist[x][c] != p.dist[x][d])) {
                return false;
            }
        }
        return true;
    }

    /** One partial placement: the device of the model at its step, and a link to the placement before it. */
    private record Node(Node parent, int device, double cost, Loads loads, int[] liveDevices, boolean[] used) {}

    /**
     * The next beam as it is built: the cheapest child per summary, and the costs at which the {@code width}
     * cheapest kept summaries first entered. A child at or above the largest of them cannot make the cut, and since
     * parents come cheapest first, nor can any later parent's child.
     */
    private static final class Layer {
        final int width;
        final Map<Key, Node> next = new HashMap<>();
        final PriorityQueue<Double> cut = new PriorityQueue<>(Comparator.reverseOrder());

        Layer(int width) {
            this.width = width;
        }

        boolean closedAt(double cost) {
            return cut.size() >= width && cost >= cut.peek();
        }

        void offer(Key key, Node child) {
            Node known = next.get(key);
            if (known == null) {
                next.put(key, child);
                cut.add(child.cost());
                if (cut.size() > width) {
                    cut.poll();
                }
            } else if (child.cost() < known.cost()) {
                next.put(key, child);
            }
        }

        /** The kept children, cheapest first, at most {@code width}; null when there are none. */
        List<Node> survivors() {
            if (next.isEmpty()) {
                return null;
            }
            List<Node> beam = new ArrayList<>(next.values());
            beam.sort((x, y) -> Double.compare(x.cost(), y.cost()));
            return beam.size() > width ? new ArrayList<>(beam.subList(0, width)) : beam;
        }
    }

    /** The cheapest complete feasible placement the beam finds, or null when every partial placement died. */
    public int[] run(int width) {
        Arrays.fill(deviceOf, -1);
        List<Node> beam = List.of(root());
        for (int k = 0; k < order.length && beam != null; k++) {
            Layer layer = new Layer(width);
            for (Node s : beam) {
                if (layer.closedAt(s.cost())) {
                    break;
                }
                expand(s, k, layer);
            }
            beam = layer.survivors();
        }
        return beam == null ? null : trace(beam.get(0));
    }

    /** The empty partial placement, holding the fixed models' loads; records their devices in {@link #deviceOf}. */
    private Node root() {
        Loads loads = new Loads(p);
        boolean[] used = new boolean[p.m];
        if (fixed != null) {
            for (int i = 0; i < p.n; i++) {
                if (pos[i] < 0) {
                    deviceOf[i] = fixed[i];
                    loads.add(i, fixed[i]);
                    used[fixed[i]] = true;
                }
            }
        }
        return new Node(null, -1, 0, loads, new int[0], used);
    }

    /** Offers to the layer every child of s that places the model at step k within the limits and can finish. */
    private void expand(Node s, int k, Layer layer) {
        int i = order[k];
        int[] before = live[k];
        for (int t = 0; t < before.length; t++) {
            deviceOf[before[t]] = s.liveDevices()[t];
        }
        for (int d = 0; d < p.m; d++) {
            if (!p.allowed(i, d) || (!s.used()[d] && !firstUnusedTwin(s.used(), d))) {
                continue;
            }
            double l = s.loads().memory[d] + p.demand[i];
            double c = s.loads().compute[d] + p.complexity[i];
            if (!p.withinLimits(d, l, c) || !canFinish(k + 1, s.loads(), d, l, c)) {
                continue;
            }
            double cost = s.cost() + added(i, d, k);
            if (!layer.closedAt(cost)) {
                offerChild(s, k, d, cost, l, c, layer);
            }
        }
        deviceOf[i] = -1;
        for (int t = 0; t < before.length; t++) {
            deviceOf[before[t]] = -1;
        }
    }

    /** The traffic of model i on device d with the models placed before step k (and the fixed ones). */
    private double added(int i, int d, int k) {
        double added = 0;
        for (int e = p.outStart[i]; e < p.outStart[i + 1]; e++) {
            int j = p.outNbr[e];
            if (pos[j] < k) {
                added += p.outW[e] * p.dist[d][deviceOf[j]];
            }
        }
        for (int e = p.inStart[i]; e < p.inStart[i + 1]; e++) {
            int j = p.inNbr[e];
            if (pos[j] < k) {
                added += p.inW[e] * p.dist[deviceOf[j]][d];
            }
        }
        return added;
    }

    private void offerChild(Node s, int k, int d, double cost, double memory, double compute, Layer layer) {
        int[] after = live[k + 1];
        deviceOf[order[k]] = d;
        int[] liveDevices = new int[after.length];
        for (int t = 0; t < after.length; t++) {
            liveDevices[t] = deviceOf[after[t]];
        }
        Loads loads = s.loads().copy();
        loads.memory[d] = memory;
        loads.compute[d] = compute;
        boolean[] used = s.used();
        if (!used[d]) {
            used = used.clone();
            used[d] = true;
        }
        layer.offer(key(liveDevices, loads), new Node(s, d, cost, loads, liveDevices, used));
    }

    private int[] trace(Node last) {
        int[] a = fixed == null ? new int[p.n] : fixed.clone();
        Node s = last;
        for (int k = order.length - 1; k >= 0; k--) {
            a[order[k]] = s.device();
            s = s.parent();
        }
        return a;
    }

    /**
     * A necessary condition for completing a partial placement: what is left to place fits in what is left free,
     * in total and for the largest single model, for memory and complexity alike.
     */
    private boolean canFinish(int step, Loads loads, int changed, double changedLoad, double changedComp) {
        if (step >= order.length) {
            return true;
        }
        double freeMem = 0;
        double freeComp = 0;
        double maxFreeMem = 0;
        double powerFreeMem = 0;
        double maxFreeComp = 0;
        for (int d = 0; d < p.m; d++) {
            double l = d == changed ? changedLoad : loads.memory[d];
            double c = d == changed ? changedComp : loads.compute[d];
            double fm = Math.max(0, p.capacity[d] + Problem.tolerance(p.capacity[d]) - l);
            freeMem += fm;
            maxFreeMem = Math.max(maxFreeMem, fm);
            if (p.complexityLimit != null) {
                double fc = Math.max(0, p.complexityLimit[d] + Problem.tolerance(p.complexityLimit[d]) - c);
                freeComp += fc;
                maxFreeComp = Math.max(maxFreeComp, fc);
                if (fc >= restMinComp[step]) {
                    powerFreeMem += fm;
                }
            }
        }
        if (restDemand[step] > freeMem + Problem.EPS || restMaxDemand[step] > maxFreeMem + Problem.EPS) {
            return false;
        }
        return p.complexityLimit == null || (restComp[step] <= freeComp + Problem.EPS
                && restMaxComp[step] <= maxFreeComp + Problem.EPS
                && restCompDemand[step] <= powerFreeMem + Problem.EPS);
    }

    private boolean firstUnusedTwin(boolean[] used, int d) {
        for (int c = 0; c < d; c++) {
            if (twinClass[c] == twinClass[d] && !used[c]) {
                return false;
            }
        }
        return true;
    }

    private Key key(int[] liveDevices, Loads loads) {
        long[] buckets = new long[2 * p.m];
        for (int d = 0; d < p.m; d++) {
            buckets[d] = (long) Math.floor(loads.memory[d] * BUCKETS / Math.max(p.capacity[d], 1e-9));
            buckets[p.m + d] = p.complexityLimit == null ? 0
                    : (long) Math.floor(loads.compute[d] * BUCKETS / Math.max(p.complexityLimit[d], 1e-9));
        }
        return new Key(liveDevices, buckets);
    }

    /** What decides a partial placement's future: its live models' devices and (bucketed) loads. */
    private record Key(int[] liveDevices, long[] buckets) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(liveDevices, k.liveDevices) && Arrays.equals(buckets, k.buckets);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(liveDevices) + Arrays.hashCode(buckets);
        }
    }
}
