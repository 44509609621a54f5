package dev.tessera.assigner.internal.improve;

import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.SearchState;
import dev.tessera.assigner.internal.graph.Graph;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The perturbations of iterated local search. One kick moves, to one device and ignoring limits: a random range of
 * the topological order (three kinds in five: a pipeline boundary shift onto the device of the model just before it
 * or just after it, or a longer range onto a random device), a breadth-first ball (one in five) or a few random
 * models (one in five). Kicks stay local on big graphs: a range or ball holds at most {@value #MAX_KICK} models
 * (three times that for the longer range). Not thread-safe: draws from the run's generator.
 */
final class Kicks {
    private static final int MAX_KICK = 64;

    private final Problem p;
    private final Graph g;
    private final SplittableRandom rng;

    Kicks(Graph g, SplittableRandom rng) {
        this.p = g.p;
        this.g = g;
        this.rng = rng;
    }

    /** Kicks s in place; returns the models to revisit (those kicked and their neighbours). */
    int[] kick(SearchState s) {
        int target = rng.nextInt(p.m);
        int[] moved;
        int kind = rng.nextInt(5);
        if (kind <= 2) {
            int[] order = g.topologicalOrder();
            int longest = kind == 2 ? Math.min(p.n / 3, MAX_KICK * 3) : Math.min(p.n / 8, MAX_KICK);
            int len = 1 + rng.nextInt(Math.max(1, longest));
            int from = rng.nextInt(p.n);
            int to = Math.min(p.n, from + len);
            moved = Arrays.copyOfRange(order, from, to);
            if (kind == 0 && from > 0) {
                target = s.a[order[from - 1]];
            } else if (kind == 1 && to < p.n) {
                target = s.a[order[to]];
            }
        } else {
            moved = kind == 3 ? randomModels() : ball();
        }
        return moveAll(s, moved, target);
    }

    private int[] moveAll(SearchState s, int[] moved, int target) {
        List<Integer> revisit = new ArrayList<>();
        for (int i : moved) {
            if (p.allowed(i, target)) {
                s.place(i, target);
            }
            revisit.add(i);
            for (int k = g.start[i]; k < g.start[i + 1]; k++) {
                revisit.add(g.nbr[k]);
            }
        }
        return revisit.stream().mapToInt(Integer::intValue).toArray();
    }

    /** A breadth-first ball of random size (up to an eighth of the models, at most MAX_KICK) around a random model. */
    private int[] ball() {
        int root = rng.nextInt(p.n);
        return g.ball(root, 1 + rng.nextInt(Math.max(1, Math.min(p.n / 8, MAX_KICK))));
    }

    private int[] randomModels() {
        int k = 1 + rng.nextInt(Math.max(1, Math.min(4, p.n)));
        int[] r = new int[k];
        for (int t = 0; t < k; t++) {
            r[t] = rng.nextInt(p.n);
        }
        return r;
    }
}
