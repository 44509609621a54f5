package dev.tessera.pool.internal;

import java.util.concurrent.CompletableFuture;

/**
 * One worker position of a {@link PoolCore}. Its driver thread takes chunks from its own queue, then the shared one, and
 * runs them on the worker (the thread itself, or a worker JVM it talks to). The slot outlives the
 * workers it hosts: a crashed or retired worker is replaced in the same slot, with the same context.
 */
abstract class WorkerSlot implements Runnable {
    protected final PoolCore core;
    protected final int index;
    private final WorkerScope parentScope;
    /** The scope of the worker now in this slot (null before the first starts). */
    protected volatile WorkerScope scope;
    /** How many workers this slot has started. */
    protected int incarnation;
    final CompletableFuture<Void> ready = new CompletableFuture<>();
    final CompletableFuture<Void> exited = new CompletableFuture<>();
    private volatile Chunk current;
    private int chunksSinceStart;
    /** Held while a chunk runs on the worker: by the driver thread, or by a caller running it directly. */
    private final java.util.concurrent.locks.ReentrantLock worker = new java.util.concurrent.locks.ReentrantLock();

    protected WorkerSlot(PoolCore core, int index, WorkerScope parentScope) {
        this.core = core;
        this.index = index;
        this.parentScope = parentScope;
    }

    /** Opens the scope of the next worker in this slot (its name carries the incarnation). */
    protected final WorkerScope nextScope() {
        scope = parentScope.child(core.name() + "-worker-" + index + "." + incarnation++, index, core.workers());
        return scope;
    }

    @Override
    public void run() {
        boolean handedOver = false;
        try {
            startWorkerLocked();
            ready.complete(null);
            handedOver = loop();
        } catch (Throwable t) {
            ready.completeExceptionally(t);
        } finally {
            if (!handedOver) {
                worker.lock();
                try {
                    stopWorkerQuietly();
                } finally {
                    worker.unlock();
                }
                released();
                exited.complete(null);
            }
        }
    }

    private void startWorkerLocked() throws Exception {
        worker.lock();
        try {
            startWorker();
        } finally {
            worker.unlock();
        }
    }

    /**
     * Runs {@code action} holding the worker, if no chunk runs on it now; the worker's state (process,
     * channel) only changes under this lock. Returns whether it ran.
     */
    protected final boolean runIfIdle(Runnable action) {
        if (!worker.tryLock()) {
            return false;
        }
        try {
            action.run();
            return true;
        } finally {
            worker.unlock();
        }
    }

    /** Runs chunks until shut down; returns true when the slot was handed to a new thread. */
    private boolean loop() {
        while (true) {
            Chunk c = core.take(index);
            if (c == null) {
                return false;
            }
            worker.lock();
            try {
                if (!runOne(c)) {
                    return true;
                }
            } finally {
                worker.unlock();
            }
        }
    }

    /** Runs one chunk on this slot's worker; false when the slot was handed to a new thread. Holds {@link #worker}. */
    private boolean runOne(Chunk c) {
        if (!c.markRunning(this, workerName())) {
            return true; // cancelled while queued
        }
        setCurrent(c);
        try {
            execute(c);
        } catch (Throwable t) {
            // execute() fails its chunk itself; this is the net that keeps a bug from hanging the caller
            c.fail(new dev.tessera.pool.PoolException("worker " + workerName() + " could not run " + c.describe()
                    + ": " + t, t));
        } finally {
            setCurrent(null);
        }
        int limit = core.setup().maxTasksPerChild();
        if (limit > 0 && ++chunksSinceStart >= limit && !core.isTerminated()) {
            chunksSinceStart = 0;
            return recycle();
        }
        return true;
    }

    /**
     * Runs {@code c} in the calling thread if this slot's worker is idle right now, saving the two
     * thread hand-offs through the queue and the driver (a synchronous {@code apply} on a process pool).
     * Only slots whose {@link #recycle()} keeps the calling thread may do this.
     */
    boolean tryRunInCaller(Chunk c) {
        if (!supportsCallerRuns() || !ready.isDone() || ready.isCompletedExceptionally() || !worker.tryLock()) {
            return false;
        }
        try {
            runOne(c);
            return true;
        } finally {
            worker.unlock();
        }
    }

    /** Whether {@link #tryRunInCaller} may be used. */
    protected boolean supportsCallerRuns() {
        return false;
    }

    private synchronized void setCurrent(Chunk c) {
        current = c;
        afterSetCurrent(c);
    }

    protected Chunk current() {
        return current;
    }

    /** Called under the slot lock whenever the current chunk changes. */
    protected void afterSetCurrent(Chunk c) {}

    /**
     * Called when a running chunk was cancelled: interrupts or kills its worker (a process slot's driver then sees
     * EOF, ignores the cancelled chunk and starts a replacement).
     */
    final synchronized void abort(Chunk c) {
        if (current == c) {
            kill();
        }
    }

    /** Name of the worker now in this slot, for messages. */
    protected final String workerName() {
        WorkerScope s = scope;
        return s == null ? core.name() + "-worker-" + index : s.name();
    }

    /** Starts this slot's worker (thread: initializer; process: JVM launch, connect, initializer). */
    protected abstract void startWorker() throws Exception;

    /** Runs the chunk on the worker and completes or fails it; replaces the worker if it died. */
    protected abstract void execute(Chunk c);

    /**
     * Replaces the worker after maxTasksPerChild chunks. Returns true if the same driver thread goes on,
     * false if a new thread took the slot over and this one must exit.
     */
    protected abstract boolean recycle();

    /** Stops the worker gracefully (called once, on the driver thread, when the slot ends). */
    protected abstract void stopWorker();

    /** Releases what the slot itself holds, once, after its last worker stopped. */
    protected void released() {}

    /** Kills or interrupts the worker now (terminate, or a cancelled chunk); called from any thread. */
    protected abstract void kill();

    private void stopWorkerQuietly() {
        try {
            stopWorker();
        } catch (RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(WorkerSlot.class).warn("stopping worker {} failed", index, e);
        }
    }

    /** Starts the driver thread. */
    void start(String threadName) {
        Thread t = new Thread(this, threadName);
        t.setDaemon(true);
        t.start();
    }
}
