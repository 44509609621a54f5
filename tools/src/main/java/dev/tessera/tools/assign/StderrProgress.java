package dev.tessera.tools.assign;

import dev.tessera.assigner.ProgressListener;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * Shows progress of a long placement on stderr: nothing for the first second (the system property {@value
 * #QUIET_PROPERTY}, in milliseconds, changes that), then at most one update a second, redrawn in place on a terminal
 * and as plain lines otherwise. Not thread-safe (one run at a time).
 */
final class StderrProgress implements ProgressListener {
    static final String QUIET_PROPERTY = "tessera.progress.afterMillis";
    private static final long QUIET_NANOS = Long.getLong(QUIET_PROPERTY, 1_000L) * 1_000_000L;
    private static final long EVERY_NANOS = 1_000_000_000L;

    private final PrintWriter err;
    private final boolean terminal;
    private final String label;
    private final long start = System.nanoTime();
    private long last;
    private boolean printed;

    StderrProgress(PrintWriter err, String label) {
        this.err = err;
        this.terminal = System.console() != null;
        this.label = label;
    }

    @Override
    public void onProgress(String phase, long done, long total) {
        long now = System.nanoTime();
        if (now - start < QUIET_NANOS || (now - last < EVERY_NANOS && done < total)) {
            return;
        }
        last = now;
        String text = String.format(Locale.ROOT, "%s: %s %d/%d (%.0f%%), %.1f s", label, phase, done, total,
                total == 0 ? 100.0 : 100.0 * done / total, (now - start) / 1e9);
        if (terminal) {
            err.print("\r" + text + "   ");
        } else {
            err.println(text);
        }
        err.flush();
        printed = true;
    }

    /** Ends the progress line on a terminal. */
    void finish() {
        if (printed && terminal) {
            err.println();
        }
    }
}
