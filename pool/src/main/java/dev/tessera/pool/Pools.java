package dev.tessera.pool;

import dev.tessera.pool.internal.NoParallelScope;
import dev.tessera.sharedmem.internal.AllowPatterns;
import java.util.ArrayList;
import java.util.List;

/**
 * Process-wide shared pools, one per kind, created on first use with one worker per CPU (the worker's
 * CPU share inside a worker). Thread-safe. The library owns them: their {@code close()} and
 * {@code terminate()} are ignored, and they are terminated by a shutdown hook when the JVM exits.
 * Inside {@link dev.tessera.pool.parallel.Parallel#noParallel()} both getters return a shared {@link SequentialPool} instead
 * (pynitride's {@code FakePool}); {@link #refreshProcessPool()} replaces the process pool (pynitride's
 * {@code process_pool(new=True)}).
 */
public final class Pools {
    private Pools() {}

    private static final Object LOCK = new Object();
    /** The current singletons; written under {@link #LOCK}, read without it. */
    private static volatile SharedPool threads;
    private static volatile SharedPool processes;
    /** Guarded by {@link #LOCK}: patterns for process pools started from now on, and whether they changed since. */
    private static final List<String> ALLOW_PATTERNS = new ArrayList<>();
    private static volatile boolean processPatternsStale;
    private static boolean hookInstalled;

    private static final class Sequential {
        static final WorkerPool INSTANCE = new SharedPool(SequentialPool.builder().optName("shared-sequential").build());
    }

    /** The shared thread pool; the shared sequential pool inside {@link dev.tessera.pool.parallel.Parallel#noParallel()}. */
    public static WorkerPool threadPool() {
        if (sequentialScope()) {
            return Sequential.INSTANCE;
        }
        SharedPool t = threads;
        if (t != null) {
            return t;
        }
        synchronized (LOCK) {
            if (threads == null) {
                threads = shared(ThreadPool.builder().optName("shared-threads").optWorkers(Worker.cpuBudget()).build());
            }
            return threads;
        }
    }

    /**
     * The shared process pool (worker JVMs start on first use); the shared sequential pool inside
     * {@link dev.tessera.pool.parallel.Parallel#noParallel()}. If {@link #optAllowPatterns} added patterns since it started, it is
     * first replaced as by {@link #refreshProcessPool()}.
     */
    public static WorkerPool processPool() {
        if (sequentialScope()) {
            return Sequential.INSTANCE;
        }
        SharedPool p = processes;
        if (p != null && !processPatternsStale) {
            return p;
        }
        return replaceProcessPool(false);
    }

    /**
     * Replaces the shared process pool with a fresh one (new worker JVMs, current {@link #optAllowPatterns})
     * and closes the old one: its queued tasks finish, then its workers exit. Returns the new pool; code
     * still holding the old one gets {@link IllegalStateException} on its next submission. Inside
     * {@link dev.tessera.pool.parallel.Parallel#noParallel()} it returns the shared sequential pool and replaces nothing.
     */
    public static WorkerPool refreshProcessPool() {
        if (sequentialScope()) {
            return Sequential.INSTANCE;
        }
        return replaceProcessPool(true);
    }

    /**
     * Allows classes matching these {@link java.io.ObjectInputFilter} patterns (e.g. {@code com.example.**})
     * in the shared process pool's tasks, arguments and results, besides {@code java.**} and
     * {@code dev.tessera.**}; same rules as {@link ProcessPool.Builder#optAllowPatterns}. Applies to process
     * pools started from now on: a shared pool already running is replaced at the next {@link #processPool()}.
     */
    public static void optAllowPatterns(String... patterns) {
        List<String> checked = AllowPatterns.check(patterns);
        synchronized (LOCK) {
            for (String p : checked) {
                if (!ALLOW_PATTERNS.contains(p)) {
                    ALLOW_PATTERNS.add(p);
                    processPatternsStale = processes != null;
                }
            }
        }
    }

    private static WorkerPool replaceProcessPool(boolean always) {
        SharedPool old;
        SharedPool fresh;
        synchronized (LOCK) {
            old = processes;
            if (old != null && !always && !processPatternsStale) {
                return old; // another thread replaced it meanwhile
            }
            ProcessPool.Builder b = ProcessPool.builder().optName("shared-processes").optWorkers(Worker.cpuBudget());
            if (!ALLOW_PATTERNS.isEmpty()) {
                b.optAllowPatterns(ALLOW_PATTERNS.toArray(String[]::new));
            }
            fresh = shared(b.build());
            processes = fresh;
            processPatternsStale = false;
        }
        if (old != null) {
            old.delegate.close(); // outside the lock: lets its queued tasks finish while others use the new pool
        }
        return fresh;
    }

    private static boolean sequentialScope() {
        return NoParallelScope.active();
    }

    /** Wraps a new singleton; the first one installs the hook that terminates the current ones at exit. */
    private static SharedPool shared(AbstractPool pool) {
        if (!hookInstalled) {
            hookInstalled = true;
            Runtime.getRuntime().addShutdownHook(new Thread(Pools::terminateAll, "tessera-shared-pools-shutdown"));
        }
        return new SharedPool(pool);
    }

    private static void terminateAll() {
        for (SharedPool p : new SharedPool[] {threads, processes}) {
            if (p != null) {
                p.delegate.terminate();
            }
        }
    }

    /** A view of a pool whose life cycle methods do nothing: the library owns it. */
    private static final class SharedPool extends AbstractPool {
        final AbstractPool delegate;

        SharedPool(AbstractPool delegate) {
            super(delegate.engine);
            this.delegate = delegate;
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
