package dev.tessera.pool;

import dev.tessera.pool.internal.WorkerScope;
import dev.tessera.pool.internal.WorkerStorage;
import java.util.concurrent.ConcurrentMap;

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

    /**
     * The current worker's own storage (machin's {@code CtxPoolStorage}): a thread-safe map that keeps its
     * entries across the tasks this worker runs, so a task can cache an environment, a model or a buffer
     * for the next task on the same worker. Each worker has its own; a worker that replaces a crashed or
     * retired one ({@code optMaxTasksPerChild}) starts with an empty map. In a worker JVM the map lives in
     * that JVM, so values need not be serializable; they die with the worker. Combine it with
     * {@code P2PPool.applyOn} to send a task to the worker that holds a value.
     *
     * @throws IllegalStateException outside a pool worker (in the main program)
     */
    public static ConcurrentMap<String, Object> storage() {
        return WorkerStorage.current();
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
