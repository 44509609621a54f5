package dev.tessera.distributed.server;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * A reducer of a {@link PushPullGradServer}: queues the gradients clients push, and reduces a batch (sum or mean)
 * and hands it to the primary when {@code reduceBatchSize} gradients are queued or {@code maxDelay} after the first
 * one came, whichever is first; thread-safe, it owns its queue (float arrays) and one scheduler thread.
 *
 * <p>Bounds: beyond {@code maxQueueSize} queued gradients the oldest are dropped (machin's rule); a gradient computed
 * on a model more than {@code maxStaleness} versions older than the newest version this reducer knows (the primary
 * returns it after each batch) is dropped. Both are counted. Batches go to the primary one at a time, on the
 * scheduler thread, so a slow primary holds gradients back in the queue instead of piling up calls.
 */
final class GradReducer implements AutoCloseable {
    /** A reduced batch for the primary: the reduced gradients, the oldest model version in it, its size. */
    record Batch(LinkedHashMap<String, float[]> gradients, long oldestVersion, int count) {}

    record Entry(Map<String, float[]> gradients, long version) {}

    private final int batchSize;
    private final int maxQueueSize;
    private final long maxStaleness;
    private final Duration maxDelay;
    private final boolean mean;
    private final Function<Batch, Long> primary;
    private final Deque<Entry> queue = new ArrayDeque<>();
    private final ScheduledExecutorService scheduler;
    private ScheduledFuture<?> timer;
    private long newestVersion;
    final AtomicLong received = new AtomicLong();
    final AtomicLong droppedStale = new AtomicLong();
    final AtomicLong droppedOverflow = new AtomicLong();
    final AtomicLong batches = new AtomicLong();

    GradReducer(String name, int batchSize, int maxQueueSize, long maxStaleness, Duration maxDelay, boolean mean,
            Function<Batch, Long> primary) {
        this.batchSize = batchSize;
        this.maxQueueSize = maxQueueSize;
        this.maxStaleness = maxStaleness;
        this.maxDelay = maxDelay;
        this.mean = mean;
        this.primary = primary;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon()
                .name("tessera-reducer-" + name).factory());
    }

    /** Queues one client's gradients, computed on model {@code version}; returns the newest version known here. */
    synchronized long offer(Map<String, float[]> gradients, long version) {
        received.incrementAndGet();
        if (isStale(version)) {
            droppedStale.incrementAndGet();
            return newestVersion;
        }
        queue.addLast(new Entry(gradients, version));
        while (queue.size() > maxQueueSize) {
            queue.removeFirst();
            droppedOverflow.incrementAndGet();
        }
        if (queue.size() >= batchSize) {
            cancelTimer();
            scheduler.execute(this::flush);
        } else if (timer == null) {
            timer = scheduler.schedule(this::flush, maxDelay.toNanos(), TimeUnit.NANOSECONDS);
        }
        return newestVersion;
    }

    synchronized long newestVersion() {
        return newestVersion;
    }

    private boolean isStale(long version) {
        return version < newestVersion - maxStaleness;
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    /** Reduces what is queued (after dropping what went stale meanwhile) and hands it to the primary. */
    private void flush() {
        Batch batch = take();
        if (batch == null) {
            return;
        }
        try {
            long version = primary.apply(batch);
            synchronized (this) {
                newestVersion = Math.max(newestVersion, version);
            }
            batches.incrementAndGet(); // after the version: a reader that sees the count sees the version
        } catch (RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(GradReducer.class).warn("a batch of {} gradients could not be applied "
                    + "by the primary and is dropped: {}", batch.count(), e.toString());
        }
    }

    private synchronized Batch take() {
        cancelTimer();
        List<Entry> entries = new ArrayList<>(queue.size());
        for (Entry e : queue) {
            if (isStale(e.version())) {
                droppedStale.incrementAndGet();
            } else {
                entries.add(e);
            }
        }
        queue.clear();
        return entries.isEmpty() ? null : reduce(entries, mean);
    }

    /** Sums (or averages) the entries' gradients element by element. */
    static Batch reduce(List<Entry> entries, boolean mean) {
        LinkedHashMap<String, float[]> sum = new LinkedHashMap<>();
        long oldest = Long.MAX_VALUE;
        for (Entry e : entries) {
            oldest = Math.min(oldest, e.version());
            for (Map.Entry<String, float[]> g : e.gradients().entrySet()) {
                float[] acc = sum.computeIfAbsent(g.getKey(), k -> new float[g.getValue().length]);
                if (acc.length != g.getValue().length) {
                    throw new IllegalArgumentException("gradient '" + g.getKey() + "' has " + g.getValue().length
                            + " elements in one push and " + acc.length + " in another (one model architecture?)");
                }
                float[] v = g.getValue();
                for (int i = 0; i < v.length; i++) {
                    acc[i] += v[i];
                }
            }
        }
        if (mean) {
            float n = entries.size();
            for (float[] acc : sum.values()) {
                for (int i = 0; i < acc.length; i++) {
                    acc[i] /= n;
                }
            }
        }
        return new Batch(sum, oldest, entries.size());
    }

    static Entry entry(Map<String, float[]> gradients, long version) {
        return new Entry(gradients, version);
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
