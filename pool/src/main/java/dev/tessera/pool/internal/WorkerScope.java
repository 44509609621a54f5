package dev.tessera.pool.internal;

import dev.tessera.pool.internal.protocol.LaunchSettings;
import dev.tessera.pool.internal.protocol.TensorTransfer;

/**
 * Who is running the current code: the parent (depth 0) or a worker (depth >= 1), its name and slot,
 * and how many CPUs it may use for nested parallelism. Thread workers carry it in a thread-local;
 * a worker JVM starts with the process-wide value of its {@link LaunchSettings}.
 *
 * @param name worker name, {@code "main"} outside any worker
 * @param slot worker slot index, -1 outside any worker
 * @param depth nesting depth: 0 in the parent, 1 in a worker, 2 in a worker's worker...
 * @param cpuBudget CPUs nested parallelism may use here (max(cpus / nJobs, 1) inside workers)
 */
public record WorkerScope(String name, int slot, int depth, int cpuBudget) implements java.io.Serializable {
    private static final ThreadLocal<WorkerScope> THREAD = new InheritableThreadLocal<>();
    private static volatile WorkerScope process = of(LaunchSettings.ofThisJvm());

    /** Returns the scope of the calling thread. */
    public static WorkerScope current() {
        WorkerScope s = THREAD.get();
        return s != null ? s : process;
    }

    /** Binds the calling thread to {@code scope} (null unbinds). */
    public static void bindThread(WorkerScope scope) {
        if (scope == null) {
            THREAD.remove();
        } else {
            THREAD.set(scope);
        }
    }

    /** Sets the JVM-wide scope; used once by a worker JVM. */
    static void bindProcess(WorkerScope scope) {
        process = scope;
    }

    /** The scope of a worker started from the current scope for a pool of {@code workers} workers. */
    public WorkerScope child(String workerName, int workerSlot, int workers) {
        return new WorkerScope(workerName, workerSlot, depth + 1, Math.max(cpuBudget / Math.max(workers, 1), 1));
    }

    public boolean inWorker() {
        return depth > 0;
    }

    private static WorkerScope of(LaunchSettings s) {
        return new WorkerScope(s.workerName(), s.slot(), s.depth(), s.cpuBudget());
    }

    /** The launch settings of a worker JVM of this scope, in a pool with these allow patterns and tensor transfer. */
    LaunchSettings launchSettings(java.util.List<String> allowPatterns, TensorTransfer tensors) {
        return new LaunchSettings(name, slot, depth, cpuBudget, allowPatterns, tensors);
    }
}
