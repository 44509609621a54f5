package dev.tessera.pool;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A thread-safe counter that reports every {@code every} increments, like pynitride's {@code Counter}:
 * {@code "rollouts: 1000 (312.5/s)"}. Lock-free; the report runs on the thread whose increment crossed
 * the threshold, once per threshold even under contention.
 */
public final class Counter {
    private static final Logger LOG = LoggerFactory.getLogger(Counter.class);

    private final String name;
    private final long every;
    private final Consumer<String> sink;
    private final AtomicLong count = new AtomicLong();
    private final long startNanos = System.nanoTime();

    private Counter(String name, long every, Consumer<String> sink) {
        this.name = name;
        this.every = every;
        this.sink = sink;
    }

    /** A counter named {@code name} that logs (slf4j, INFO) every {@code every} increments. */
    public static Counter of(String name, long every) {
        return of(name, every, LOG::info);
    }

    /** Like {@link #of(String, long)} but reports to {@code sink}. */
    public static Counter of(String name, long every, Consumer<String> sink) {
        if (every < 1) {
            throw new IllegalArgumentException("every=" + every + " (expected >= 1)");
        }
        return new Counter(Objects.requireNonNull(name, "name"), every, Objects.requireNonNull(sink, "sink"));
    }

    /** Adds one (reporting if that crossed a multiple of {@code every}); returns the new count. */
    public long increment() {
        return add(1);
    }

    /**
     * Adds {@code n >= 0} and reports once if the sum crossed one or more multiples of {@code every}; returns
     * the new count. Throws {@link IllegalArgumentException} for a negative {@code n}.
     */
    public long add(long n) {
        if (n < 0) {
            throw new IllegalArgumentException("n=" + n + " (expected >= 0)");
        }
        long after = count.addAndGet(n);
        long before = after - n;
        if (after / every > before / every) {
            double seconds = Math.max((System.nanoTime() - startNanos) / 1e9, 1e-9);
            sink.accept(String.format(java.util.Locale.ROOT, "%s: %d (%.1f/s)", name, after / every * every,
                    after / seconds));
        }
        return after;
    }

    /** The current count; starts at 0. */
    public long get() {
        return count.get();
    }

    @Override
    public String toString() {
        return name + "=" + get();
    }
}
