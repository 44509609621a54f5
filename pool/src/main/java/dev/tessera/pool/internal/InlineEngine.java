package dev.tessera.pool.internal;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs each chunk in the caller's thread when it is submitted, like pynitride's {@code FakePool}.
 * One logical worker: its initializer runs at construction and again after every
 * {@code maxTasksPerChild} chunks, which is this engine's way of "replacing" the worker.
 */
final class InlineEngine implements Engine {
    private final String name;
    private final WorkerSetup setup;
    private final AtomicBoolean open = new AtomicBoolean(true);
    private int incarnation;
    private int chunksRun;
    private WorkerScope scope;
    /** The logical worker's storage, bound to the caller's thread only while a chunk runs. */
    private java.util.concurrent.ConcurrentMap<String, Object> storage;

    public InlineEngine(String name, WorkerSetup setup) {
        this.name = name;
        this.setup = setup;
        startIncarnation();
    }

    private void startIncarnation() {
        scope = WorkerScope.current().child(name + "-worker-0." + incarnation++, 0, 1);
        storage = new java.util.concurrent.ConcurrentHashMap<>();
        withScope(() -> {
            setup.runInitializer();
            return null;
        });
    }

    @Override
    public synchronized void submit(Chunk chunk) {
        if (!open.get()) {
            throw new IllegalStateException("pool " + name + " is closed; create a new pool to run more tasks");
        }
        if (!chunk.markRunning(null, scope.name())) {
            return;
        }
        ChunkResult r = withScope(() -> ChunkResult.run(chunk.task, setup.context(0), chunk.args));
        chunk.complete(r);
        if (setup.maxTasksPerChild() > 0 && ++chunksRun >= setup.maxTasksPerChild()) {
            chunksRun = 0;
            startIncarnation();
        }
    }

    private <T> T withScope(java.util.function.Supplier<T> body) {
        WorkerScope previous = WorkerScope.current();
        java.util.concurrent.ConcurrentMap<String, Object> previousStorage = WorkerStorage.bound();
        WorkerScope.bindThread(scope);
        WorkerStorage.bind(storage);
        try {
            return body.get();
        } finally {
            WorkerStorage.bind(previousStorage);
            WorkerScope.bindThread(previous.depth() == 0 && previous.slot() < 0 ? null : previous);
        }
    }

    @Override
    public int workers() {
        return 1;
    }

    @Override
    public boolean inline() {
        return true;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void close() {
        open.set(false);
    }

    @Override
    public void terminate() {
        open.set(false);
    }

    @Override
    public boolean isOpen() {
        return open.get();
    }

    @Override
    public void join() {
        if (open.get()) {
            throw new IllegalStateException("pool " + name + " is still open; call close() or terminate() before join()");
        }
    }
}
