package dev.tessera.pool.parallel;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * joblib's progress messages for one {@link Parallel} call, and an optional live bar.
 *
 * <p>While tasks are still being pulled from the iterator the total is unknown and messages read
 * {@code "Done  40 tasks      | elapsed:  1.2s"}, thinned by joblib's verbosity filter (more often as
 * {@code verbose} grows, every batch above 10). Once the iterator is exhausted they read
 * {@code "Done  40 out of 100 | elapsed:  1.2s remaining:  1.8s"}, about {@code verbose} times per run
 * plus the last one. The bar, when enabled, redraws one terminal line in place ({@code \r}) at most
 * every 200 ms once the run has lasted one second, so short runs never show it; a progress message first
 * clears the bar's line so the two do not run together, and the bar is drawn again on the next update.
 * Confined to the dispatching thread.
 */
final class Progress {
    static final long BAR_AFTER_NANOS = 1_000_000_000L;
    static final long BAR_EVERY_NANOS = 200_000_000L;
    private static final String CLEAR_LINE = "\r\u001B[2K";

    private final int verbose;
    private final Consumer<String> sink;
    private final boolean bar;
    private final String prefix;
    private final PrintStream barStream;
    private final LongSupplier clock;
    private final long startNanos;
    private long lastBarNanos;
    private boolean barShown;
    private boolean barOnScreen;
    private long lastBucket;

    Progress(int verbose, Consumer<String> sink, boolean bar, String prefix) {
        this(verbose, sink, bar, prefix, System.err, System::nanoTime);
    }

    /** With the stream the bar is drawn on and the clock, for tests. */
    Progress(int verbose, Consumer<String> sink, boolean bar, String prefix, PrintStream barStream, LongSupplier clock) {
        this.verbose = verbose;
        this.sink = sink;
        this.bar = bar;
        this.prefix = prefix;
        this.barStream = barStream;
        this.clock = clock;
        this.startNanos = clock.getAsLong();
    }

    private boolean finalReported; // "Done N out of N" was given

    void print(String message) {
        if (verbose > 0) {
            if (barOnScreen) {
                barStream.print(CLEAR_LINE);
                barStream.flush();
                barOnScreen = false;
            }
            sink.accept(prefix + message);
        }
    }

    void debug(String message) {
        if (verbose >= 10) {
            print(message);
        }
    }

    double elapsedSeconds() {
        return (clock.getAsLong() - startNanos) / 1e9;
    }

    /**
     * The run ended with every task done. The last batch can come back before the iterator is known to be
     * exhausted (it held exactly a batch's worth of tasks), and then its report had no total: give the final
     * "Done N out of N" now, unless it was given already.
     */
    void allCompleted(long completedTasks, long dispatchedBatches) {
        if (!finalReported) {
            batchCompleted(completedTasks, completedTasks, dispatchedBatches);
        }
    }

    /** After a batch completed: {@code total} is -1 while the iterator is not exhausted. */
    void batchCompleted(long completedTasks, long total, long dispatchedBatches) {
        double elapsed = elapsedSeconds();
        report(completedTasks, total, dispatchedBatches, elapsed);
        drawBar(completedTasks, total, elapsed); // after the message, which clears the bar's line
    }

    private void report(long completedTasks, long total, long dispatchedBatches, double elapsed) {
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
        finalReported |= last;
        // about `verbose` messages per run: one each time index * verbose / total reaches a new integer,
        // also when a batch of many tasks jumped past it
        long bucket = total == 0 ? 0 : index * verbose / total;
        if (!last && bucket <= lastBucket) {
            return;
        }
        lastBucket = bucket;
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
        long now = clock.getAsLong();
        if (!bar || now - startNanos < BAR_AFTER_NANOS) {
            return;
        }
        if (barOnScreen && now - lastBarNanos < BAR_EVERY_NANOS && done != total) {
            return;
        }
        lastBarNanos = now;
        barShown = true;
        barOnScreen = true;
        barStream.print(barLine(done, total, elapsed));
        barStream.flush();
    }

    /** {@code \r[Parallel(n_jobs=2)]: [=======       ] 40/100 elapsed 1.2s remaining 1.8s}, without a newline. */
    String barLine(long done, long total, double elapsed) {
        int width = 30;
        int filled = total > 0 ? (int) (width * done / total) : 0;
        String remaining = total > 0 && done > 0 ? " remaining " + format(elapsed / done * (total - done)).trim() : "";
        return "\r" + prefix + "[" + "=".repeat(filled) + " ".repeat(width - filled) + "] " + done
                + (total > 0 ? "/" + total : "") + " elapsed " + format(elapsed).trim() + remaining;
    }

    /** Ends the bar's line, if a bar was drawn. */
    void finish() {
        if (barOnScreen) {
            barStream.println();
            barStream.flush();
            barOnScreen = false;
        }
    }

    /** Whether a bar was drawn during the run. */
    boolean barShown() {
        return barShown;
    }
}
