package dev.tessera.pool.internal;

import dev.tessera.pool.TaskFailedException;

/**
 * A worker that is a platform thread of the parent JVM. Replacing it (maxTasksPerChild) starts a
 * fresh thread for the slot, so thread-locals set by the initializer or tasks do not carry over.
 * Cancelling its chunk interrupts the thread; the interrupt flag is cleared before the next chunk.
 */
final class ThreadSlot extends WorkerSlot {
    private volatile Thread thread;

    public ThreadSlot(PoolCore core, int index, WorkerScope parentScope) {
        super(core, index, parentScope);
    }

    @Override
    protected void startWorker() {
        thread = Thread.currentThread();
        WorkerScope scope = nextScope();
        thread.setName(scope.name());
        WorkerScope.bindThread(scope);
        WorkerStorage.bindFresh();
        core.setup().runInitializer();
    }

    @Override
    protected void execute(Chunk c) {
        ChunkResult r;
        try {
            r = ChunkResult.run(c.task, core.setup().context(index), c.args);
        } catch (VirtualMachineError e) {
            c.fail(new TaskFailedException(c.describe() + " failed in worker " + workerName() + ": " + e, e));
            return;
        }
        c.complete(r);
    }

    @Override
    protected void afterSetCurrent(Chunk c) {
        if (c == null) {
            Thread.interrupted(); // a cancel that arrived as the chunk finished must not hit the next one
        }
    }

    @Override
    protected boolean recycle() {
        start(core.name() + "-driver-" + index);
        return false;
    }

    @Override
    protected void stopWorker() {
        WorkerScope.bindThread(null);
        WorkerStorage.bind(null);
    }

    @Override
    protected void kill() {
        Thread t = thread;
        if (t != null) {
            t.interrupt();
        }
    }
}
