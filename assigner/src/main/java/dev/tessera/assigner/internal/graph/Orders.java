package dev.tessera.assigner.internal.graph;

import dev.tessera.assigner.internal.Problem;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Comparator;
import java.util.PriorityQueue;

/** Stateless and thread-safe; every call returns a new array that the caller owns: orders of the models or devices. */
public final class Orders {
    private Orders() {}

    /**
     * Kahn's topological order, taking the lowest or the highest index first among ready models (cycles broken by
     * the lowest index not yet placed): on graphs with parallel branches the two orders interleave the branches
     * differently, which gives pipeline cuts other seams.
     */
    public static int[] topological(Problem p, boolean lowestFirst) {
        int[] indeg = inDegrees(p);
        int[] order = new int[p.n];
        boolean[] done = new boolean[p.n];
        PriorityQueue<Integer> ready = new PriorityQueue<>(
                lowestFirst ? Comparator.<Integer>naturalOrder() : Comparator.<Integer>reverseOrder());
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
            if (!done[i]) {
                done[i] = true;
                order[count++] = i;
                release(p, i, indeg, done, ready);
            }
        }
        return order;
    }

    private static void release(Problem p, int i, int[] indeg, boolean[] done, PriorityQueue<Integer> ready) {
        for (int k = p.outStart[i]; k < p.outStart[i + 1]; k++) {
            int j = p.outNbr[k];
            if (!done[j] && --indeg[j] == 0) {
                ready.add(j);
            }
        }
    }

    /** Number of incoming edges of each model, self loops not counted. */
    private static int[] inDegrees(Problem p) {
        int[] indeg = new int[p.n];
        for (int e = 0; e < p.edgeFrom.length; e++) {
            if (p.edgeFrom[e] != p.edgeTo[e]) {
                indeg[p.edgeTo[e]]++;
            }
        }
        return indeg;
    }

    /** A depth-first order following edge direction (branches stay together), from the sources in index order. */
    public static int[] depthFirst(Problem p) {
        int[] remaining = inDegrees(p);
        int[] order = new int[p.n];
        int count = 0;
        boolean[] done = new boolean[p.n];
        for (int r = 0; r < p.n && count < p.n; r++) {
            if (!done[r] && (remaining[r] <= 0 || count == 0)) {
                count = descend(p, r, order, count, done, remaining);
            }
        }
        for (int i = 0; i < p.n; i++) {
            if (!done[i]) {
                order[count++] = i;
            }
        }
        return order;
    }

    /** Depth-first from root, appending to order; a model is entered once all its predecessors are. */
    private static int descend(Problem p, int root, int[] order, int count, boolean[] done, int[] remaining) {
        ArrayDeque<Integer> stack = new ArrayDeque<>();
        stack.push(root);
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
        return count;
    }

    /** Indices sorted by key, largest first (ties keep index order). */
    public static int[] descending(double[] key) {
        Integer[] order = new Integer[key.length];
        for (int k = 0; k < key.length; k++) {
            order[k] = k;
        }
        Arrays.sort(order, (x, y) -> Double.compare(key[y], key[x]));
        return Arrays.stream(order).mapToInt(Integer::intValue).toArray();
    }

    /** 0, 1, ..., n - 1. */
    public static int[] identity(int n) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        return order;
    }
}
