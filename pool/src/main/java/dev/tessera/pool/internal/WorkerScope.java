package dev.tessera.pool.internal;

/**
 * Who is running the current code: the parent (depth 0) or a worker (depth >= 1), its name and slot,
 * and how many CPUs it may use for nested parallelism. Thread workers carry it in a thread-local;
 * a worker JVM sets the process-wide value once at start-up from system properties.
 *
 * @param name worker name, {@code "main"} outside any worker
 * @param slot worker slot index, -1 outside any worker
 * @param depth nesting depth: 0 in the parent, 1 in a worker, 2 in a worker's worker...
 * @param cpuBudget CPUs nested parallelism may use here (max(cpus / nJobs, 1) inside workers)
 */
public record WorkerScope(String name, int slot, int depth, int cpuBudget) implements java.io.Serializable {
    public static final String DEPTH_PROPERTY = "tessera.pool.depth";
    public static final String CPUS_PROPERTY = "tessera.pool.cpus";

    private static final ThreadLocal<WorkerScope> THREAD = new InheritableThreadLocal<>();
    private static volatile WorkerScope process = fromSystemProperties();

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

    private static WorkerScope fromSystemProperties() {
        int cpus = Runtime.getRuntime().availableProcessors();
        int depth = Integer.getInteger(DEPTH_PROPERTY, 0);
        int budget = Integer.getInteger(CPUS_PROPERTY, cpus);
        return new WorkerScope(depth == 0 ? "main" : System.getProperty("tessera.pool.worker", "worker"),
                Integer.getInteger("tessera.pool.slot", -1), depth, budget);
    }
}
