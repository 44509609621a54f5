package dev.tessera.assigner.internal.graph;

import dev.tessera.assigner.internal.Problem;
import java.util.Arrays;

/**
 * Immutable after construction, so safe to share; callers must not write its arrays. The undirected neighbours of each
 * model in CSR form ({@code nbr[start[i] .. start[i + 1])}, self loops dropped; an edge in both directions lists the
 * neighbour twice) and the topological order, computed once per problem.
 */
public final class Graph {
    public final Problem p;
    public final int[] start;
    public final int[] nbr;
    private final int[] topological;

    public Graph(Problem p) {
        this.p = p;
        this.start = new int[p.n + 1];
        for (int i = 0; i < p.n; i++) {
            start[i + 1] = start[i] + (p.outStart[i + 1] - p.outStart[i]) + (p.inStart[i + 1] - p.inStart[i]);
        }
        this.nbr = new int[start[p.n]];
        for (int i = 0; i < p.n; i++) {
            int k = start[i];
            for (int j = p.outStart[i]; j < p.outStart[i + 1]; j++) {
                nbr[k++] = p.outNbr[j];
            }
            for (int j = p.inStart[i]; j < p.inStart[i + 1]; j++) {
                nbr[k++] = p.inNbr[j];
            }
        }
        this.topological = Orders.topological(p, true);
    }

    /** {@link Orders#topological Kahn's order}, lowest index first among ready models; do not write it. */
    public int[] topologicalOrder() {
        return topological;
    }

    /** The first {@code size} models (or fewer) reached by breadth-first search of the undirected graph from root. */
    public int[] ball(int root, int size) {
        int[] ball = new int[size];
        boolean[] seen = new boolean[p.n];
        int head = 0;
        int tail = 0;
        ball[tail++] = root;
        seen[root] = true;
        while (head < tail && tail < size) {
            int i = ball[head++];
            for (int k = start[i]; k < start[i + 1] && tail < size; k++) {
                int j = nbr[k];
                if (!seen[j]) {
                    seen[j] = true;
                    ball[tail++] = j;
                }
            }
        }
        return Arrays.copyOf(ball, tail);
    }

    /** A breadth-first order of the undirected graph, starting from model {@code root} and then any unvisited. */
    public int[] bfsOrder(int root) {
        int[] order = new int[p.n];
        boolean[] seen = new boolean[p.n];
        int tail = 0;
        for (int r = 0; r < p.n; r++) {
            int first = (root + r) % p.n;
            if (!seen[first]) {
                seen[first] = true;
                order[tail] = first;
                tail = visitFrom(order, tail, tail + 1, seen);
            }
        }
        return order;
    }

    /** Breadth-first from {@code order[head .. tail)}, appending to order; returns the new tail. */
    private int visitFrom(int[] order, int head, int tail, boolean[] seen) {
        while (head < tail) {
            int i = order[head++];
            for (int k = start[i]; k < start[i + 1]; k++) {
                int j = nbr[k];
                if (!seen[j]) {
                    seen[j] = true;
                    order[tail++] = j;
                }
            }
        }
        return tail;
    }
}
