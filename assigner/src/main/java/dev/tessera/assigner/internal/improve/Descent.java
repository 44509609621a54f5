package dev.tessera.assigner.internal.improve;

import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.SearchState;
import dev.tessera.assigner.internal.graph.Graph;
import dev.tessera.assigner.internal.graph.Orders;
import java.util.ArrayDeque;
import java.util.SplittableRandom;

/**
 * Not thread-safe: it keeps a scratch array and draws from the run's generator; it changes the states it is given.
 * Descent to a local optimum for moves and swaps. A worklist of models (all at first, then the neighbours of every
 * model that moved): for each, the best feasible move (Fiduccia–Mattheyses style gain over all devices), and when
 * there is none, the best improving feasible swap (Kernighan–Lin style) with candidates drawn from all models on
 * small instances and from graph neighbours plus a random sample on large ones.
 *
 * <p>On small instances, where every model is a swap candidate, moves and swaps are priced from a {@link CostTable}
 * that the descent loads once per call (O(E·m)) and keeps current as it moves models (O(degree·m) per move): a swap's
 * change is then read from two rows in O(1), where gathering the candidate's edges cost O(degree) per candidate and
 * took most of a multilevel run's search time (measured on the 1000×16 benchmark graph's coarse levels).
 */
public final class Descent implements Improver {
    /** Up to this many models every model is a swap candidate; above it, the neighbours and a random sample. */
    private static final int FULL_SWAP_LIMIT = 400;
    private static final int SWAP_SAMPLE = 12;

    private final Problem p;
    private final Graph g;
    private final SplittableRandom rng;
    private final long maxSteps;
    private final int[] allModels;
    /** Scratch for {@link #bestSwap}: the communication of one model's edges on each device. */
    private final double[] costOfI;
    /** Each model's cost on each device while a descent runs, on small instances; null on large ones. */
    private final CostTable table;
    /** Scratch for {@link #bestSwap} with the table: the volume between the model being swapped and each other. */
    private final double[] volumeWith;

    /** @param maxSteps worklist entries one descent may process */
    public Descent(Graph g, SplittableRandom rng, long maxSteps) {
        this.p = g.p;
        this.g = g;
        this.rng = rng;
        this.maxSteps = maxSteps;
        this.allModels = Orders.identity(p.n);
        this.costOfI = new double[p.m];
        this.table = p.n <= FULL_SWAP_LIMIT ? new CostTable(p) : null;
        this.volumeWith = table == null ? null : new double[p.n];
    }

    /** Descends from every model. */
    @Override
    public SearchState improve(SearchState s) {
        descend(s, allModels);
        return s;
    }

    /** Improves s in place to a local optimum for moves and swaps, starting from the given models; then resyncs it. */
    public void descend(SearchState s, int[] initial) {
        Worklist work = new Worklist(p.n);
        for (int i : initial) {
            work.add(i);
        }
        if (table != null) {
            table.load(s.a);
        }
        long budget = maxSteps;
        while (!work.isEmpty() && budget-- > 0) {
            int i = work.poll();
            int from = s.a[i];
            int moved = bestMove(s, i);
            if (moved < 0) {
                moved = bestSwap(s, i);
            }
            if (moved >= 0) {
                work.addNeighbours(g, i);
                if (moved != i) {
                    work.addNeighbours(g, moved);
                    work.add(moved); // its swaps with every other model changed too
                }
                if (s.a[i] != from) {
                    work.add(i);
                }
            }
        }
        s.resync();
    }

    /** A FIFO of models, each at most once. */
    private static final class Worklist {
        private final ArrayDeque<Integer> queue = new ArrayDeque<>();
        private final boolean[] queued;

        Worklist(int n) {
            this.queued = new boolean[n];
        }

        void add(int i) {
            if (!queued[i]) {
                queued[i] = true;
                queue.add(i);
            }
        }

        void addNeighbours(Graph g, int i) {
            for (int k = g.start[i]; k < g.start[i + 1]; k++) {
                add(g.nbr[k]);
            }
        }

        boolean isEmpty() {
            return queue.isEmpty();
        }

        int poll() {
            int i = queue.poll();
            queued[i] = false;
            return i;
        }
    }

    /** Applies the best improving feasible move of i; returns i if it moved, else -1. */
    private int bestMove(SearchState s, int i) {
        if (table != null) {
            return bestMoveFromTable(s, i);
        }
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

    /** {@link #bestMove} priced from the table. */
    private int bestMoveFromTable(SearchState s, int i) {
        int from = s.a[i];
        double here = table.cost(i, from);
        double ci = p.complexity[i];
        int bestB = -1;
        double bestDelta = -Problem.IMPROVEMENT;
        for (int b = 0; b < p.m; b++) {
            if (b != from && s.fits(i, b)) {
                double delta = p.commScale * (table.cost(i, b) - here) + s.mismatchDelta(ci, from, b);
                if (delta < bestDelta) {
                    bestDelta = delta;
                    bestB = b;
                }
            }
        }
        if (bestB < 0) {
            return -1;
        }
        move(s, i, bestB);
        return i;
    }

    /** Moves i to b, keeping the table current. */
    private void move(SearchState s, int i, int b) {
        if (table != null) {
            table.moved(i, s.a[i], b);
        }
        s.place(i, b);
    }

    /** Applies the best improving feasible swap of i with another model; returns that model, or -1. */
    private int bestSwap(SearchState s, int i) {
        if (table != null) {
            return bestSwapFromTable(s, i);
        }
        int a = s.a[i];
        int bestJ = -1;
        double bestDelta = -Problem.IMPROVEMENT;
        s.gather(i);
        for (int x = 0; x < p.m; x++) {
            costOfI[x] = s.commCost(x);
        }
        for (int j : swapCandidates(i)) {
            int b = s.a[j];
            if (b == a || !s.loads.fitsExchange(i, a, j, b)) {
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
        s.place(i, s.a[bestJ]);
        s.place(bestJ, a);
        return bestJ;
    }

    /**
     * {@link #bestSwap} over every model, priced from the table: exchanging i (on a) and j (on b) changes the
     * communication by {@code cost(i, b) − cost(i, a) + cost(j, a) − cost(j, b) + (w_ij + w_ji)·(dist[a][b] +
     * dist[b][a])}, the last term correcting the edges between them, which each row prices with the other in place.
     */
    private int bestSwapFromTable(SearchState s, int i) {
        int a = s.a[i];
        markVolumes(i, true);
        double ci = p.complexity[i];
        double costIOnA = table.cost(i, a);
        int bestJ = -1;
        double bestDelta = -Problem.IMPROVEMENT;
        for (int j = 0; j < p.n; j++) {
            int b = s.a[j];
            if (b == a || !s.loads.fitsExchange(i, a, j, b)) {
                continue;
            }
            double moveI = table.cost(i, b) - costIOnA;
            double moveJ = table.cost(j, a) - table.cost(j, b);
            double between = volumeWith[j] * (p.dist[a][b] + p.dist[b][a]);
            double delta = p.commScale * (moveI + moveJ + between) + s.loads.mismatchDelta(p.complexity[j] - ci, b, a);
            if (delta < bestDelta) {
                bestDelta = delta;
                bestJ = j;
            }
        }
        markVolumes(i, false);
        if (bestJ < 0) {
            return -1;
        }
        int b = s.a[bestJ];
        move(s, i, b);
        move(s, bestJ, a);
        return bestJ;
    }

    /** Sets {@link #volumeWith} of i's neighbours to the volume between them and i (on), or back to 0 (off). */
    private void markVolumes(int i, boolean on) {
        for (int k = p.outStart[i]; k < p.outStart[i + 1]; k++) {
            volumeWith[p.outNbr[k]] = on ? volumeWith[p.outNbr[k]] + p.outW[k] : 0;
        }
        for (int k = p.inStart[i]; k < p.inStart[i + 1]; k++) {
            volumeWith[p.inNbr[k]] = on ? volumeWith[p.inNbr[k]] + p.inW[k] : 0;
        }
    }

    private int[] swapCandidates(int i) {
        if (p.n <= FULL_SWAP_LIMIT) {
            return allModels;
        }
        int deg = g.start[i + 1] - g.start[i];
        int[] c = new int[deg + SWAP_SAMPLE];
        System.arraycopy(g.nbr, g.start[i], c, 0, deg);
        for (int k = 0; k < SWAP_SAMPLE; k++) {
            c[deg + k] = rng.nextInt(p.n);
        }
        return c;
    }
}
