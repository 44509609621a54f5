package dev.tessera.pool.parallel;

import java.util.Locale;
import java.util.function.Consumer;

/**
 * joblib's auto-batching rule ({@code AutoBatchingMixin.compute_batch_size}). The goal is batches that
 * take 0.2–2 s from dispatch to completion: long enough to hide the dispatch overhead, short enough to
 * avoid stragglers. With {@code ideal = floor(size × 0.2 / duration)}:
 * <ul>
 *   <li>a batch faster than {@link #MIN_IDEAL_SECONDS} grows the size to {@code min(2 × ideal, 2 × size)}
 *       (joblib doubles the ideal size to limit oscillation and caps growth so that no worker starves);
 *       since {@code ideal >= size} for such a batch, the size in effect doubles at each step;
 *   <li>a batch slower than {@link #MAX_IDEAL_SECONDS} shrinks it at once to {@code max(2 × ideal, 1)};
 *   <li>in between the size holds.
 * </ul>
 * Durations are smoothed with an exponential average (0.8 old + 0.2 new) over batches of the current
 * size only, and the estimate resets whenever the size changes. One instance per call, so every call
 * starts again from size 1. Confined to the dispatching thread.
 */
final class AutoBatcher {
    static final double MIN_IDEAL_SECONDS = 0.2;
    static final double MAX_IDEAL_SECONDS = 2.0;

    private final Consumer<String> debug;
    private int effectiveSize = 1;
    private double smoothedSeconds;

    AutoBatcher(Consumer<String> debug) {
        this.debug = debug;
    }

    /** The size of the next batch, adjusting it from the smoothed duration. */
    int nextSize() {
        int old = effectiveSize;
        double d = smoothedSeconds;
        if (d > 0 && d < MIN_IDEAL_SECONDS) {
            long ideal = 2 * (long) (old * MIN_IDEAL_SECONDS / d);
            effectiveSize = (int) Math.max(Math.min(2L * old, ideal), 1);
            debug.accept(String.format(Locale.ROOT, "Batch computation too fast (%.4fs.) Setting batch_size=%d.", d,
                    effectiveSize));
        } else if (d > MAX_IDEAL_SECONDS && old >= 2) {
            long ideal = (long) (old * MIN_IDEAL_SECONDS / d);
            effectiveSize = (int) Math.max(2 * ideal, 1);
            debug.accept(String.format(Locale.ROOT, "Batch computation too slow (%.4fs.) Setting batch_size=%d.", d,
                    effectiveSize));
        }
        if (effectiveSize != old) {
            smoothedSeconds = 0;
        }
        return effectiveSize;
    }

    /** Records a completed batch; only batches of the current size update the estimate. */
    void completed(int size, double seconds) {
        if (size != effectiveSize) {
            return;
        }
        smoothedSeconds = smoothedSeconds == 0 ? seconds : 0.8 * smoothedSeconds + 0.2 * seconds;
    }

    int effectiveSize() {
        return effectiveSize;
    }
}
