package dev.tessera.tools.bench;

import java.util.Locale;

/**
 * Progress lines of a running benchmark on stderr ({@code bench pool (12 s): map on the thread pool}), so that a
 * run that takes minutes is never silent for long while its figures, on stdout, stay clean for {@code --format json}.
 * Thread-safe (one line per call, through {@code System.err}); holds only the start time of the run.
 */
final class BenchProgress {
    private static volatile long start = System.nanoTime();

    private BenchProgress() {}

    /** Marks the start of a run: later lines count seconds from here. */
    static void start() {
        start = System.nanoTime();
    }

    /** One line: the benchmark, the seconds since it started, and what it does now. */
    static void step(String bench, String what) {
        System.err.printf(Locale.ROOT, "bench %s (%d s): %s%n", bench, (System.nanoTime() - start) / 1_000_000_000L, what);
        System.err.flush();
    }
}
