package dev.tessera.pool;

/**
 * Process-wide shared pools, one per kind, created on first use with one worker per CPU (the worker's
 * CPU share inside a worker). Thread-safe. The library owns them: their {@code close()} and
 * {@code terminate()} are ignored, and they are terminated by a shutdown hook when the JVM exits.
 */
public final class Pools {
    private Pools() {}

    private static final class Threads {
        static final WorkerPool INSTANCE = shared(ThreadPool.builder().optName("shared-threads")
                .optWorkers(Worker.cpuBudget()).build());
    }

    private static final class Processes {
        static final WorkerPool INSTANCE = shared(ProcessPool.builder().optName("shared-processes")
                .optWorkers(Worker.cpuBudget()).build());
    }

    /** The shared thread pool. */
    public static WorkerPool threadPool() {
        return Threads.INSTANCE;
    }

    /** The shared process pool (worker JVMs start on first use). */
    public static WorkerPool processPool() {
        return Processes.INSTANCE;
    }

    private static WorkerPool shared(AbstractPool pool) {
        Runtime.getRuntime().addShutdownHook(new Thread(pool::terminate, pool.name() + "-shutdown"));
        return new SharedPool(pool);
    }

    /** A view of a pool whose life cycle methods do nothing: the library owns it. */
    private static final class SharedPool extends AbstractPool {
        SharedPool(AbstractPool delegate) {
            super(delegate.engine);
        }

        @Override
        public void close() {
            // shared: owned by the library, terminated at JVM exit
        }

        @Override
        public void terminate() {
            // shared: owned by the library, terminated at JVM exit
        }
    }
}
