package dev.tessera.pool.parallel;

import dev.tessera.pool.BatchSubmitter;
import dev.tessera.pool.PoolException;
import dev.tessera.pool.ProcessPool;
import dev.tessera.pool.SerializableCallable;
import dev.tessera.pool.SerializableFunction;
import dev.tessera.pool.ThreadPool;
import dev.tessera.pool.WorkerPool;
import dev.tessera.pool.internal.ProcessConfig;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The thread-safe registry of {@link ParallelBackend}s by name, and the three built-in backends, each
 * instance owned by one {@code Parallel}: sequential (in the caller's thread), threads and processes (a
 * {@link ThreadPool} or {@link ProcessPool} per {@code Parallel}).
 */
final class Backends {
    private Backends() {}

    private static final Map<String, Supplier<? extends ParallelBackend>> REGISTERED = new ConcurrentHashMap<>();

    /** The registry name of a built-in backend: {@code sequential}, {@code threads} or {@code processes}. */
    static String nameOf(Parallel.Backend backend) {
        return backend.name().toLowerCase(Locale.ROOT);
    }

    /** The name of a backend chosen by enum in a builder or scope; {@code CUSTOM} names no backend. */
    static String checkBuiltin(Parallel.Backend backend) {
        if (Objects.requireNonNull(backend, "backend") == Parallel.Backend.CUSTOM) {
            throw new IllegalArgumentException("backend=CUSTOM (expected SEQUENTIAL, THREADS or PROCESSES; "
                    + "select a registered backend with optBackend(String name))");
        }
        return nameOf(backend);
    }

    /** The built-in backend of that name, or null for a registered one. */
    static Parallel.Backend builtin(String name) {
        for (Parallel.Backend b : Parallel.Backend.values()) {
            if (b != Parallel.Backend.CUSTOM && nameOf(b).equals(name)) {
                return b;
            }
        }
        return null;
    }

    static void register(String name, Supplier<? extends ParallelBackend> factory) {
        checkName(name);
        Objects.requireNonNull(factory, "factory");
        if (builtin(name) != null || name.equals(nameOf(Parallel.Backend.CUSTOM))) {
            throw new IllegalArgumentException("backend name '" + name + "' is reserved for a built-in backend "
                    + "(choose another name)");
        }
        REGISTERED.put(name, factory);
    }

    /** Checks that {@code name} is a built-in or registered backend; returns it. */
    static String checkKnown(String name) {
        checkName(name);
        if (builtin(name) == null && !REGISTERED.containsKey(name)) {
            Set<String> known = new TreeSet<>(REGISTERED.keySet());
            for (Parallel.Backend b : Parallel.Backend.values()) {
                if (b != Parallel.Backend.CUSTOM) {
                    known.add(nameOf(b));
                }
            }
            throw new IllegalArgumentException("backend '" + name + "' is not registered (expected one of " + known
                    + "; register it first with Parallel.registerBackend)");
        }
        return name;
    }

    private static void checkName(String name) {
        if (name == null || !name.matches("[A-Za-z0-9_.-]+")) {
            throw new IllegalArgumentException("backend name '" + name + "' (expected letters, digits, '_', '.', '-')");
        }
    }

    /** A new instance of the backend called {@code name}. */
    static ParallelBackend create(String name) {
        Parallel.Backend b = builtin(name);
        if (b != null) {
            return b == Parallel.Backend.SEQUENTIAL ? new Sequential() : new OnPool(b == Parallel.Backend.PROCESSES);
        }
        Supplier<? extends ParallelBackend> factory = REGISTERED.get(checkKnown(name));
        ParallelBackend backend = factory.get();
        if (backend == null) {
            throw new IllegalStateException("the factory registered for backend '" + name + "' returned null");
        }
        return backend;
    }

    /**
     * Runs each batch in the caller's thread inside {@code submit}, without entering a worker scope: a
     * nested {@code Parallel} in a task sees the same nesting level and configuration scopes as the caller
     * (joblib's {@code SequentialBackend.get_nested_backend}). The initializer runs once, in the caller.
     */
    static final class Sequential implements ParallelBackend {
        @Override
        public int effectiveNJobs(int nJobs) {
            return 1;
        }

        @Override
        public void configure(Settings settings) {
            if (settings.initializer() != null) {
                try {
                    settings.initializer().init(settings.initArgs().toArray());
                } catch (Exception e) {
                    throw new PoolException("initializer failed in the caller's thread (sequential Parallel): " + e, e);
                }
            }
        }

        @Override
        public void submit(Batch batch) {
            batch.run();
        }

        @Override
        public void abortEverything() {
            // every batch ran to its end inside submit(): nothing is ever left running
        }

        @Override
        public boolean supportsTimeout() {
            return false;
        }

        @Override
        public boolean supportsSharedMemory() {
            return true;
        }

        @Override
        public void close() {
            // owns no workers
        }
    }

    /**
     * Runs batches on a thread or process pool that this backend starts in {@link #configure}, through the
     * pools' public {@link BatchSubmitter}.
     */
    static final class OnPool implements ParallelBackend {
        /** The function of a batch whose arguments are the tasks themselves: one instance, sent once per worker. */
        private static final SerializableFunction<Object, Object> CALL = task -> ((SerializableCallable<?>) task).call();

        private final boolean processes;
        private final Set<BatchSubmitter.Submission> inFlight = ConcurrentHashMap.newKeySet();
        private volatile WorkerPool pool;
        private volatile BatchSubmitter submitter;

        OnPool(boolean processes) {
            this.processes = processes;
        }

        @Override
        public int effectiveNJobs(int nJobs) {
            return nJobs;
        }

        @Override
        public void configure(Settings s) {
            if (processes) {
                ProcessPool p = processOptions(s).build();
                pool = p;
                submitter = p;
            } else {
                ThreadPool.Builder b = ThreadPool.builder().optName("parallel-threads").optWorkers(s.nJobs());
                if (s.initializer() != null) {
                    b.optInitializer(s.initializer(), s.initArgs().toArray());
                }
                ThreadPool p = b.build();
                pool = p;
                submitter = p;
            }
        }

        private static ProcessPool.Builder processOptions(Settings s) {
            ProcessPool.Builder p = ProcessPool.builder().optName("parallel-processes").optWorkers(s.nJobs());
            if (s.initializer() != null) {
                p.optInitializer(s.initializer(), s.initArgs().toArray());
            }
            s.env().forEach(p::optEnv);
            p.optJvmOptions(s.jvmOptions().toArray(String[]::new));
            if (s.innerMaxNumThreads() > 0) {
                String limit = String.valueOf(s.innerMaxNumThreads());
                for (String name : ProcessConfig.THREAD_ENV) {
                    if (!s.env().containsKey(name)) { // an explicit optEnv is more specific
                        p.optEnv(name, limit);
                    }
                }
                if (s.jvmOptions().stream().noneMatch(o -> o.startsWith("-D" + ProcessConfig.DJL_THREADS + "="))) {
                    p.optJvmOptions("-D" + ProcessConfig.DJL_THREADS + "=" + limit);
                }
            }
            if (!s.allowPatterns().isEmpty()) {
                p.optAllowPatterns(s.allowPatterns().toArray(String[]::new));
            }
            return p.optMaxNbytes(s.maxNbytes());
        }

        @Override
        public void submit(Batch batch) {
            BatchSubmitter p = submitter;
            if (p == null) {
                throw new IllegalStateException("backend not configured (Parallel calls configure() first)");
            }
            boolean delayed = batch.fn != null;
            @SuppressWarnings("unchecked")
            SerializableFunction<Object, Object> fn = delayed ? (SerializableFunction<Object, Object>) batch.fn : CALL;
            // the batch gets its outcome before the submission leaves inFlight, so the check after add() below
            // sees every outcome that came too early to find the submission there
            BatchSubmitter.Submission[] self = new BatchSubmitter.Submission[1];
            BatchSubmitter.Listener listener = new BatchSubmitter.Listener() {
                @Override
                public void onResult(Object[] values) {
                    batch.finish(values);
                    inFlight.remove(self[0]);
                }

                @Override
                public void onFailure(RuntimeException failure) {
                    batch.failWith(failure);
                    inFlight.remove(self[0]);
                }
            };
            BatchSubmitter.Submission submission = p.submitBatch(fn, batch.args, batch.firstIndex, listener);
            self[0] = submission;
            inFlight.add(submission);
            if (batch.runAs(submission)) {
                inFlight.remove(submission); // it finished (or was cancelled) before we got here
            }
        }

        @Override
        public void abortEverything() {
            CancellationException reason = new CancellationException("cancelled: a Parallel call on this pool failed");
            for (BatchSubmitter.Submission c : inFlight) {
                c.cancel(reason); // a running thread is interrupted, a running worker JVM killed and replaced
            }
            inFlight.clear();
        }

        @Override
        public boolean supportsTimeout() {
            return true;
        }

        @Override
        public boolean supportsSharedMemory() {
            return !processes;
        }

        @Override
        public void close() {
            WorkerPool p = pool;
            if (p != null) {
                p.close();
            }
        }
    }
}
