package dev.tessera.pool;

import dev.tessera.pool.internal.WorkerScope;

/**
 * Tells code which worker it runs in, like {@code multiprocessing.current_process()}. Stateless and
 * thread-safe.
 */
public final class Worker {
    private Worker() {}

    /** Name of the current worker (pool, slot and incarnation), or {@code "main"} outside any worker. */
    public static String currentName() {
        return WorkerScope.current().name();
    }

    /** Slot index of the current worker (context pools give slot {@code i} context {@code i}), or -1. */
    public static int currentSlot() {
        return WorkerScope.current().slot();
    }

    /** 0 outside workers, 1 in a worker, 2 in a worker's worker. */
    public static int nestingDepth() {
        return WorkerScope.current().depth();
    }

    /** Whether the calling code runs inside a pool worker. */
    public static boolean inWorker() {
        return WorkerScope.current().inWorker();
    }

    /** CPUs that nested parallel code may use here: all of them in the parent, max(cpus / nJobs, 1) in a worker. */
    public static int cpuBudget() {
        return WorkerScope.current().cpuBudget();
    }
}
