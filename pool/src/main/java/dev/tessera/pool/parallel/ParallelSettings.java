package dev.tessera.pool.parallel;

import dev.tessera.pool.Worker;
import dev.tessera.sharedmem.TensorCodec;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Everything one {@link Parallel} runs with, resolved once when it is built (Aeron's
 * {@code CommonContext.conclude()}): the builder's values, else the innermost enclosing
 * {@link ParallelConfig} scope's, else the defaults, adjusted for where the caller runs (nesting depth and
 * CPU budget of a pool worker). Immutable and thread-safe; the scopes and the worker scope are read once,
 * in {@link Environment#capture()}, and never again. What reaches the workers ({@link #backendSettings()})
 * is part of this value.
 *
 * @param backendName the chosen backend's name
 * @param nJobs the effective number of workers
 * @param batchSize tasks per batch, 0 for automatic batching
 * @param preDispatch the pre-dispatch expression as given
 * @param preDispatchTasks tasks pulled ahead of completion
 * @param returnAs how results are returned
 * @param timeout per-task timeout, or null
 * @param verbose progress verbosity
 * @param progressSink where progress messages go
 * @param progressBar whether to draw a progress bar
 * @param backendSettings what the backend and its workers are configured with
 */
record ParallelSettings(String backendName, int nJobs, int batchSize, String preDispatch, int preDispatchTasks,
        Parallel.ReturnAs returnAs, Duration timeout, int verbose, Consumer<String> progressSink, boolean progressBar,
        ParallelBackend.Settings backendSettings) {
    private static final String SEQUENTIAL = Backends.nameOf(Parallel.Backend.SEQUENTIAL);
    private static final String THREADS = Backends.nameOf(Parallel.Backend.THREADS);

    /**
     * What the resolution reads from the calling thread, captured once.
     *
     * @param scope the innermost enclosing configuration scope, or null
     * @param depth the caller's nesting depth (0 outside pool workers)
     * @param cpus the caller's CPU budget
     */
    record Environment(ParallelConfig.Frame scope, int depth, int cpus) {
        static Environment capture() {
            return new Environment(ParallelConfig.current(), Worker.nestingDepth(), Worker.cpuBudget());
        }

        /** The builder's value, else the innermost enclosing scope's, else {@code fallback}. */
        <T> T inherit(T explicit, Function<ParallelConfig.Frame, T> get, T fallback) {
            if (explicit != null) {
                return explicit;
            }
            T inherited = scope == null ? null : scope.find(get);
            return inherited != null ? inherited : fallback;
        }
    }

    /** The backend's name, its instance (owned by the Parallel being built) and the effective nJobs. */
    record Choice(String name, ParallelBackend backend, int nJobs) {}

    /** The settings of a Parallel built by {@code b} in {@code env} with the backend {@code choice}. */
    static ParallelSettings conclude(Parallel.Builder b, Environment env, Choice choice) {
        int verbose = env.inherit(b.verbose, ParallelConfig.Frame::verbose, 0);
        boolean bar = b.progressBar != null ? b.progressBar
                : verbose > 0 && System.console() != null && System.console().isTerminal();
        return new ParallelSettings(choice.name(), choice.nJobs(), b.batchSize, b.preDispatch,
                Parallel.evalPreDispatch(b.preDispatch, choice.nJobs()), b.returnAs,
                env.inherit(b.timeout, ParallelConfig.Frame::timeout, null), verbose, b.progressSink, bar,
                backendSettings(b, env, choice.nJobs()));
    }

    private static ParallelBackend.Settings backendSettings(Parallel.Builder b, Environment env, int nJobs) {
        LinkedHashSet<String> allow = new LinkedHashSet<>(b.allowPatterns);
        for (ParallelConfig.Frame f = env.scope(); f != null; f = f.parent()) {
            if (f.allowPatterns() != null) {
                allow.addAll(f.allowPatterns());
            }
        }
        long maxNbytes = env.inherit(b.maxNbytes, ParallelConfig.Frame::maxNbytes, TensorCodec.DEFAULT_MAX_NBYTES);
        return new ParallelBackend.Settings(nJobs, b.initializer, Arrays.asList(b.initArgs), b.env, b.jvmOptions,
                b.innerMaxNumThreads, List.copyOf(allow), maxNbytes);
    }

    /**
     * Resolves the backend and nJobs: the builder's, the scope's or the default values, then nesting,
     * sequential scopes and nJobs=1, then {@code require}, then the backend's own {@code effectiveNJobs}.
     * Every backend instance made on the way but not chosen is closed.
     */
    static Choice choose(Parallel.Builder b, Environment env) {
        ParallelBackend explicit = b.backendName == null ? null : explicitBackend(b);
        int n = requestedJobs(b, env);
        String wanted = wantedBackend(b, env, n);
        ParallelBackend chosen = wanted.equals(b.backendName) ? explicit : Backends.create(wanted);
        if (explicit != null && chosen != explicit) {
            explicit.close();
        }
        if (b.require == Parallel.Require.SHAREDMEM && !chosen.supportsSharedMemory()) {
            chosen.close(); // only a scope's or the default backend gets here: an explicit one was rejected
            return choose(THREADS, Backends.create(THREADS), n);
        }
        return choose(wanted, chosen, n);
    }

    private static Choice choose(String name, ParallelBackend backend, int n) {
        int effective = backend.effectiveNJobs(n);
        if (effective < 1 || effective > n) {
            backend.close();
            throw new IllegalStateException("backend '" + name + "' returned effectiveNJobs(" + n + ")=" + effective
                    + " (expected 1.." + n + ")");
        }
        if (effective == 1 && !name.equals(SEQUENTIAL)) {
            backend.close(); // joblib runs one worker's worth sequentially
            return new Choice(SEQUENTIAL, Backends.create(SEQUENTIAL), 1);
        }
        return new Choice(name, backend, effective);
    }

    /** nJobs as asked (builder, scope, default 1), negative values counted from the CPUs, capped in a worker. */
    private static int requestedJobs(Parallel.Builder b, Environment env) {
        int requested = env.inherit(b.nJobs, ParallelConfig.Frame::nJobs, 1);
        int n = requested < 0 ? Math.max(env.cpus() + 1 + requested, 1) : requested;
        return env.depth() >= 1 ? Math.min(n, env.cpus()) : n; // a worker's share of the machine, never more
    }

    /** The backend's name after nesting and sequential rules, before {@code require} is checked. */
    private static String wantedBackend(Parallel.Builder b, Environment env, int n) {
        String wanted = env.inherit(b.backendName, ParallelConfig.Frame::backendName,
                Backends.nameOf(b.prefer == Parallel.Prefer.THREADS ? Parallel.Backend.THREADS : Parallel.Backend.PROCESSES));
        if (env.depth() >= 1) {
            // processes and registered backends become threads one level down; two levels down, sequential
            wanted = env.depth() >= 2 || wanted.equals(SEQUENTIAL) ? SEQUENTIAL : THREADS;
        }
        return env.scope() != null && env.scope().forcesSequential() || n == 1 ? SEQUENTIAL : wanted;
    }

    /** The backend the builder names, rejected if it contradicts {@code require} (joblib's ValueError). */
    private static ParallelBackend explicitBackend(Parallel.Builder b) {
        ParallelBackend backend = Backends.create(b.backendName);
        if (b.require == Parallel.Require.SHAREDMEM && !backend.supportsSharedMemory()) {
            backend.close();
            throw new IllegalArgumentException("backend=" + Parallel.label(b.backendName) + " contradicts "
                    + "require=SHAREDMEM: its tasks do not see the caller's objects (drop optBackend to get threads, "
                    + "or pick a backend that supports shared memory such as THREADS)");
        }
        return backend;
    }
}
