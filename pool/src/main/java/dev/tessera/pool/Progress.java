package dev.tessera.pool;

import java.util.Locale;
import java.util.function.Consumer;

/**
 * joblib's progress messages for one {@link Parallel} call, and an optional live bar.
 *
 * <p>While tasks are still being pulled from the iterator the total is unknown and messages read
 * {@code "Done  40 tasks      | elapsed:  1.2s"}, thinned by joblib's verbosity filter (more often as
 * {@code verbose} grows, every batch above 10). Once the iterator is exhausted they read
 * {@code "Done  40 out of 100 | elapsed:  1.2s remaining:  1.8s"}, about {@code verbose} times per run
 * plus the last one. The bar, when enabled, redraws one terminal line at most every 200 ms after the
 * run has lasted one second. Confined to the dispatching thread.
 */
final class Progress {
    private final int verbose;
    private final Consumer<String> sink;
    private final boolean bar;
    private final String prefix;
    private final long startNanos = System.nanoTime();
    private long lastBarNanos;
    private boolean barShown;

    Progress(int verbose, Consumer<String> sink, boolean bar, String prefix) {
        this.verbose = verbose;
        this.sink = sink;
        this.bar = bar;
        this.prefix = prefix;
    }

    void print(String message) {
        if (verbose > 0) {
            sink.accept(prefix + message);
        }
    }

    void debug(String message) {
        if (verbose >= 10) {
            print(message);
        }
    }

    double elapsedSeconds() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    /** After a batch completed: {@code total} is -1 while the iterator is not exhausted. */
    void batchCompleted(long completedTasks, long total, long dispatchedBatches) {
        double elapsed = elapsedSeconds();
        drawBar(completedTasks, total, elapsed);
        if (verbose == 0) {
            return;
        }
        if (total < 0) {
            if (!filtered(dispatchedBatches, verbose)) {
                print(String.format(Locale.ROOT, "Done %3d tasks      | elapsed: %s", completedTasks, format(elapsed)));
            }
            return;
        }
        long index = completedTasks;
        boolean last = index == total;
        // about `verbose` messages per run: one each time index * verbose / total reaches a new integer
        if (!last && index != 0 && (index * verbose) / total == ((index - 1) * verbose) / total) {
            return;
        }
        double remaining = index == 0 ? 0 : elapsed / index * (total - index);
        print(String.format(Locale.ROOT, "Done %3d out of %3d | elapsed: %s remaining: %s", index, total,
                format(elapsed), format(remaining)));
    }

    /** joblib's {@code _verbosity_filter}: true means skip this message. */
    static boolean filtered(long index, int verbose) {
        if (verbose == 0) {
            return true;
        }
        if (verbose > 10 || index == 0) {
            return false;
        }
        double scale = 0.5 * (11 - verbose) * (11 - verbose);
        return (int) Math.sqrt(index / scale) == (int) Math.sqrt((index + 1) / scale);
    }

    static String format(double seconds) {
        return seconds > 60 ? String.format(Locale.ROOT, "%4.1fmin", seconds / 60)
                : String.format(Locale.ROOT, "%5.1fs", seconds);
    }

    private void drawBar(long done, long total, double elapsed) {
        if (!bar || elapsed < 1.0) {
            return;
        }
        long now = System.nanoTime();
        if (barShown && now - lastBarNanos < 200_000_000L && done != total) {
            return;
        }
        lastBarNanos = now;
        barShown = true;
        int width = 30;
        int filled = total > 0 ? (int) (width * done / total) : 0;
        String remaining = total > 0 && done > 0 ? " remaining " + format(elapsed / done * (total - done)).trim() : "";
        System.err.print("\r" + prefix + "[" + "=".repeat(filled) + " ".repeat(width - filled) + "] " + done
                + (total > 0 ? "/" + total : "") + " elapsed " + format(elapsed).trim() + remaining);
        System.err.flush();
    }

    void finish() {
        if (barShown) {
            System.err.println();
        }
    }
}
