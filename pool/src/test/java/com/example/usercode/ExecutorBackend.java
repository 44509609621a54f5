package com.example.usercode;

import dev.tessera.pool.parallel.ParallelBackend;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A user's {@link ParallelBackend} on a plain {@link ExecutorService}, as a library outside Tessera would
 * write it: with shared memory it runs batches through {@link Batch#run()}; without, it takes the tasks and
 * reports their results as a backend that ships them to another machine would. It records what Parallel asked of it so tests can check it was really used. Thread-safe.
 */
public final class ExecutorBackend implements ParallelBackend {
    /** Every instance the factory made, in order. */
    public static final List<ExecutorBackend> CREATED = new CopyOnWriteArrayList<>();

    public static final String THREAD_PREFIX = "user-executor-";

    public final AtomicInteger batches = new AtomicInteger();
    public final AtomicInteger tasks = new AtomicInteger();
    public final AtomicInteger aborts = new AtomicInteger();
    public final AtomicInteger closes = new AtomicInteger();
    public volatile Settings settings;
    private final boolean sharedMemory;
    private final List<Future<?>> running = new CopyOnWriteArrayList<>();
    private volatile ExecutorService executor;

    public ExecutorBackend(boolean sharedMemory) {
        this.sharedMemory = sharedMemory;
        CREATED.add(this);
    }

    @Override
    public int effectiveNJobs(int nJobs) {
        return nJobs;
    }

    @Override
    public void configure(Settings settings) {
        this.settings = settings;
        AtomicInteger ids = new AtomicInteger();
        executor = Executors.newFixedThreadPool(settings.nJobs(), r -> new Thread(r, THREAD_PREFIX + ids.getAndIncrement()));
    }

    @Override
    public void submit(Batch batch) {
        batches.incrementAndGet();
        tasks.addAndGet(batch.size());
        running.removeIf(Future::isDone);
        running.add(executor.submit(sharedMemory ? batch::run : () -> runElsewhere(batch)));
    }

    /** What a backend that ships tasks to another machine does: start, run the tasks, report. */
    private static void runElsewhere(Batch batch) {
        if (!batch.start()) {
            return; // cancelled before it started
        }
        List<Object> results = new java.util.ArrayList<>();
        try {
            for (dev.tessera.pool.SerializableCallable<?> task : batch.tasks()) {
                results.add(task.call());
            }
            batch.complete(results);
        } catch (Exception e) {
            batch.fail(e);
        }
    }

    @Override
    public void abortEverything() {
        aborts.incrementAndGet();
        running.forEach(f -> f.cancel(true));
        running.clear();
    }

    @Override
    public boolean supportsTimeout() {
        return true;
    }

    @Override
    public boolean supportsSharedMemory() {
        return sharedMemory;
    }

    @Override
    public void close() {
        closes.incrementAndGet();
        if (executor != null) {
            executor.shutdownNow();
        }
    }
}
