package dev.tessera.pool.parallel;

import dev.tessera.pool.Initializer;
import dev.tessera.pool.Pools;
import dev.tessera.pool.ProcessPool;
import dev.tessera.pool.SequentialPool;
import dev.tessera.pool.SerializableCallable;
import dev.tessera.pool.SerializableFunction;
import dev.tessera.pool.TaskFailedException;
import dev.tessera.pool.TaskTimeoutException;
import dev.tessera.pool.WorkerCrashedException;
import dev.tessera.sharedmem.TensorCodec;
import dev.tessera.sharedmem.internal.AllowPatterns;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.stream.StreamSupport;

/**
 * joblib's {@code Parallel} for Java: runs many small tasks on a sequential, thread or process backend
 * with automatic batching, a bounded pre-dispatch, progress messages, a per-task timeout, and
 * fail-fast errors. Not thread-safe: one thread runs calls on a given instance. The instance owns the
 * workers it starts, and keeps them across calls until {@link #close()} (use try-with-resources).
 *
 * <pre>{@code
 * try (Parallel parallel = Parallel.builder().optNJobs(-1).build()) {
 *     List<Integer> squares = parallel.map((Integer x) -> x * x, inputs);
 * }
 * }</pre>
 *
 * <p>Effective configuration, resolved once at {@link Parallel.Builder#build()} into one immutable value
 * that later scopes do not change and that the backend and its workers are configured with: explicit builder values,
 * then the enclosing {@link #config()} scope, then the defaults (nJobs 1, processes). A negative nJobs
 * means {@code cpus + 1 + nJobs} (-1 all CPUs, -2 all but one); an effective value of 1 runs
 * sequentially; {@code require(SHAREDMEM)} or {@code prefer(THREADS)} select threads, and an explicit
 * backend without shared memory together with {@code require(SHAREDMEM)} is an
 * {@link IllegalArgumentException}. Inside a pool worker, processes (and registered backends) become
 * threads and CPUs are the worker's share; two levels down everything runs sequentially, so nesting never
 * multiplies threads or JVMs. A sequential Parallel runs tasks in the caller's thread without entering a
 * worker, so a nested Parallel in its tasks resolves exactly as the caller's would (joblib's
 * {@code SequentialBackend}). {@link #noParallel()} forces sequential execution in its scope. Backends
 * beyond the three built-in ones plug in through {@link ParallelBackend} and {@link #registerBackend}.
 *
 * <p>Two deliberate differences from joblib: a closed instance throws {@link IllegalStateException} on
 * the next call (Java's convention for a closed {@link AutoCloseable}; joblib silently starts new workers),
 * and a second call may run while a generator of an earlier one is still being consumed (joblib raises);
 * both share the instance's workers, and a failing call cancels only its own batches.
 */
public final class Parallel implements AutoCloseable {
    /** Where tasks run; {@code CUSTOM} is a backend registered with {@link #registerBackend}. */
    public enum Backend {
        /** Every task in the calling thread ({@link SequentialPool}'s behaviour). */
        SEQUENTIAL,
        /** Platform threads of this JVM; tasks share the caller's objects. */
        THREADS,
        /** Worker JVMs; tasks, arguments and results are serialized. */
        PROCESSES,
        /** A backend registered with {@link #registerBackend}. */
        CUSTOM
    }

    /** Soft hint used when no backend is given. */
    public enum Prefer {
        /** Use the thread backend. */
        THREADS,
        /** Use the process backend (the default). */
        PROCESSES
    }

    /** Hard constraint: SHAREDMEM needs tasks to see the caller's objects, so it forces threads. */
    public enum Require {
        /** No constraint (the default). */
        NONE,
        /** Tasks must see the caller's objects: threads, or a backend that supports shared memory. */
        SHAREDMEM
    }

    /** How results are returned: all at once, lazily in submission order, or lazily in completion order. */
    public enum ReturnAs {
        /** All results at once, in submission order (the default). */
        LIST,
        /** Lazily, in submission order. */
        GENERATOR,
        /** Lazily, in completion order. */
        GENERATOR_UNORDERED
    }

    private final ParallelSettings settings;
    private final ParallelBackend backend;
    private boolean configured;
    private int liveRuns;
    private boolean closed;

    private Parallel(ParallelSettings settings, ParallelBackend backend) {
        this.settings = settings;
        this.backend = backend;
        if (settings.timeout() != null && !backend.supportsTimeout() && !settings.backendName().equals(SEQUENTIAL)) {
            org.slf4j.LoggerFactory.getLogger(Parallel.class).warn("backend '{}' does not support timeouts; "
                    + "timeout={} is not enforced", settings.backendName(), settings.timeout());
        }
    }

    private static final String SEQUENTIAL = Backends.nameOf(Backend.SEQUENTIAL);

    /** The enum name of a built-in backend, or the registered name of another. */
    static String label(String name) {
        Backend builtin = Backends.builtin(name);
        return builtin != null ? builtin.name() : "'" + name + "'";
    }

    static int checkVerbose(int verbose) {
        if (verbose < 0) {
            throw new IllegalArgumentException("verbose=" + verbose + " (expected >= 0)");
        }
        return verbose;
    }

    static void checkNJobs(int nJobs) {
        if (nJobs == 0) {
            throw new IllegalArgumentException("nJobs=0 has no meaning (expected >= 1, or -1 for all CPUs, "
                    + "-2 for all but one...)");
        }
    }

    static Duration checkTimeout(Duration timeout) {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout=" + timeout + " (expected > 0)");
        }
        return timeout;
    }

    /** Evaluates joblib's pre_dispatch expression: "all", an integer, or an expression of n_jobs. */
    static int evalPreDispatch(String expr, int nJobs) {
        String e = expr.replace(" ", "");
        if (e.equals("all")) {
            return Integer.MAX_VALUE;
        }
        try {
            if (e.contains("*")) {
                String[] parts = e.split("\\*");
                if (parts.length != 2) {
                    throw new NumberFormatException(e);
                }
                return Math.max(1, factor(parts[0], nJobs) * factor(parts[1], nJobs));
            }
            return Math.max(1, factor(e, nJobs));
        } catch (NumberFormatException ex) {
            throw new IllegalArgumentException("preDispatch='" + expr
                    + "' (expected 'all', an integer, 'n_jobs' or 'k*n_jobs')");
        }
    }

    private static int factor(String s, int nJobs) {
        return s.equals("n_jobs") ? nJobs : Integer.parseInt(s);
    }

    /** A new builder; every option is optional, with the defaults named on each {@code opt} method. */
    public static Builder builder() {
        return new Builder();
    }

    /** Starts a scoped default configuration (joblib's {@code parallel_config}); see {@link ParallelConfig}. */
    public static ParallelConfig config() {
        return new ParallelConfig();
    }

    /**
     * Forces sequential execution in this thread until the scope closes: every {@code Parallel} built in it
     * runs in the calling thread, and {@link Pools#threadPool()} and {@link Pools#processPool()} return a
     * shared {@link SequentialPool} (pynitride's {@code FakePool}).
     */
    public static ParallelConfig.Scope noParallel() {
        return ParallelConfig.pushNoParallel();
    }

    /** joblib's {@code delayed(fn)(arg)}: a serializable call of {@code fn} with {@code arg}. */
    public static <T, R> SerializableCallable<R> delayed(SerializableFunction<? super T, ? extends R> fn, T arg) {
        return new Delayed<>(Objects.requireNonNull(fn, "fn"), arg);
    }

    /**
     * The value {@link #delayed} returns. A batch of these sharing one function is sent to a worker as
     * that function (once per worker) plus an array of arguments, instead of one object per task.
     */
    record Delayed<T, R>(SerializableFunction<? super T, ? extends R> fn, T arg) implements SerializableCallable<R> {
        @Override
        public R call() throws Exception {
            return fn.apply(arg);
        }
    }

    /**
     * Registers a backend under {@code name}, joblib's {@code register_parallel_backend}: a {@code Parallel}
     * built with {@link Builder#optBackend(String) optBackend(name)} (or inside a {@link ParallelConfig} that
     * names it) calls {@code factory} once in {@code build()} and owns the instance it returns. Registering
     * a name again replaces the factory for {@code Parallel}s built afterwards. Thread-safe.
     *
     * @throws IllegalArgumentException if the name is not letters, digits, '_', '.', '-', or is a built-in
     *         backend's ({@code sequential}, {@code threads}, {@code processes}, {@code custom})
     */
    public static void registerBackend(String name, java.util.function.Supplier<? extends ParallelBackend> factory) {
        Backends.register(name, factory);
    }

    /**
     * The backend this instance uses after nJobs, hints, nesting and scopes were applied; {@code CUSTOM}
     * for a registered backend ({@link #backendName()} says which).
     */
    public Backend backend() {
        Backend builtin = Backends.builtin(settings.backendName());
        return builtin != null ? builtin : Backend.CUSTOM;
    }

    /** The name of the backend this instance uses: {@code sequential}, {@code threads}, {@code processes} or a registered name. */
    public String backendName() {
        return settings.backendName();
    }

    /** The number of concurrent workers this instance uses (1 when sequential). */
    public int nJobs() {
        return settings.nJobs();
    }

    /**
     * Runs every task and returns the results: in submission order for {@code LIST} and
     * {@code GENERATOR}, in completion order for {@code GENERATOR_UNORDERED}.
     *
     * @throws TaskFailedException on the first failing task, after cancelling the rest
     * @throws WorkerCrashedException when a worker JVM died while running a task (the rest are cancelled)
     * @throws TaskTimeoutException when a task runs longer than the timeout (the rest are cancelled)
     * @throws IllegalStateException if this instance is closed
     */
    public <R> List<R> call(Iterable<? extends SerializableCallable<? extends R>> tasks) {
        List<R> out = new ArrayList<>();
        Iterator<R> it = start(tasks.iterator(), settings.returnAs() != ReturnAs.GENERATOR_UNORDERED);
        it.forEachRemaining(out::add);
        return out;
    }

    /**
     * Runs the tasks lazily, yielding results as {@code returnAs} says (LIST behaves as GENERATOR).
     * Only {@code preDispatch} tasks are pulled ahead of the consumer.
     */
    public <R> Iterator<R> iterate(Iterable<? extends SerializableCallable<? extends R>> tasks) {
        return start(tasks.iterator(), settings.returnAs() != ReturnAs.GENERATOR_UNORDERED);
    }

    /** {@code call} of {@code delayed(fn, arg)} for every argument. */
    public <T, R> List<R> map(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args) {
        Iterable<SerializableCallable<R>> tasks = () -> StreamSupport.stream(args.spliterator(), false)
                .map(a -> Parallel.<T, R>delayed(fn, a)).iterator();
        return call(tasks);
    }

    private <R> Iterator<R> start(Iterator<? extends SerializableCallable<? extends R>> tasks, boolean ordered) {
        if (closed) {
            throw new IllegalStateException("this Parallel is closed; build a new one");
        }
        ParallelSettings s = settings;
        Progress progress = new Progress(s.verbose(), s.progressSink(), s.progressBar(),
                "[Parallel(n_jobs=" + s.nJobs() + ")]: ");
        progress.print("Using backend " + label(s.backendName()) + " with " + s.nJobs() + " concurrent workers.");
        if (!configured) {
            backend.configure(s.backendSettings()); // starts the workers once; they serve every later call
            configured = true;
        }
        liveRuns++;
        return new ParallelRun<>(backend, this::runEnded, tasks, ordered, s.batchSize(), s.preDispatchTasks(),
                s.timeout(), progress);
    }

    /** A call ended; returns whether another call (a generator still being consumed) is live. */
    private boolean runEnded() {
        liveRuns--;
        return liveRuns > 0;
    }

    /** Stops the workers this instance started. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            backend.close();
        }
    }

    @Override
    public String toString() {
        return "Parallel[backend=" + label(settings.backendName()) + ", nJobs=" + settings.nJobs() + ", preDispatch="
                + settings.preDispatch() + "]";
    }

    /** Builds a {@link Parallel}; every option is optional. Not thread-safe. */
    public static final class Builder {
        Integer nJobs;
        String backendName;
        Prefer prefer = Prefer.PROCESSES;
        Require require = Require.NONE;
        int batchSize;
        String preDispatch = "2*n_jobs";
        ReturnAs returnAs = ReturnAs.LIST;
        Duration timeout;
        Integer verbose;
        Consumer<String> progressSink = System.err::println;
        Boolean progressBar;
        /** Checks the worker options with the rules of the process pool builders (it is never built). */
        private final ProcessPool.Builder workerOptions = ProcessPool.builder();
        Initializer initializer;
        Object[] initArgs = new Object[0];
        final Map<String, String> env = new LinkedHashMap<>();
        final List<String> jvmOptions = new ArrayList<>();
        final List<String> allowPatterns = new ArrayList<>();
        int innerMaxNumThreads;
        Long maxNbytes;

        private Builder() {}

        /** Workers: >= 1, or negative for cpus + 1 + nJobs; 0 is an error. Default 1 (joblib's default). */
        public Builder optNJobs(int nJobs) {
            checkNJobs(nJobs);
            this.nJobs = nJobs;
            return this;
        }

        /** A built-in backend; default: processes (threads with {@code prefer(THREADS)} or {@code require(SHAREDMEM)}). */
        public Builder optBackend(Backend backend) {
            this.backendName = Backends.checkBuiltin(backend);
            return this;
        }

        /**
         * A backend by name: {@code sequential}, {@code threads}, {@code processes}, or one registered with
         * {@link Parallel#registerBackend}. It must support shared memory if {@code require(SHAREDMEM)}.
         */
        public Builder optBackend(String name) {
            this.backendName = Backends.checkKnown(name);
            return this;
        }

        /** Soft hint for the backend when none is given explicitly or by a scope; default {@code PROCESSES}. */
        public Builder optPrefer(Prefer prefer) {
            this.prefer = Objects.requireNonNull(prefer, "prefer");
            return this;
        }

        /**
         * Hard constraint; default {@code NONE}. {@code SHAREDMEM} selects threads unless the backend supports
         * shared memory; with an explicit backend that does not, {@link #build()} throws
         * {@link IllegalArgumentException}.
         */
        public Builder optRequire(Require require) {
            this.require = Objects.requireNonNull(require, "require");
            return this;
        }

        /** Tasks per batch, >= 1; default 0 means joblib's automatic batching. */
        public Builder optBatchSize(int batchSize) {
            if (batchSize < 0) {
                throw new IllegalArgumentException("batchSize=" + batchSize + " (expected >= 1, or 0 for auto)");
            }
            this.batchSize = batchSize;
            return this;
        }

        /** Tasks pulled from the iterator ahead of completion: "all", an integer or "k*n_jobs"; default "2*n_jobs". */
        public Builder optPreDispatch(String preDispatch) {
            evalPreDispatch(Objects.requireNonNull(preDispatch, "preDispatch"), 1);
            this.preDispatch = preDispatch;
            return this;
        }

        /** How {@code call} and {@code iterate} order results; default {@code LIST} (submission order). */
        public Builder optReturnAs(ReturnAs returnAs) {
            this.returnAs = Objects.requireNonNull(returnAs, "returnAs");
            return this;
        }

        /** Longest a task may run once a worker started it; the call then fails and the rest are cancelled. */
        public Builder optTimeout(Duration timeout) {
            this.timeout = checkTimeout(timeout);
            return this;
        }

        /** joblib's verbosity: 0 silent, 1–10 more and more progress messages, above 10 every batch, >= 10 debug. */
        public Builder optVerbose(int verbose) {
            this.verbose = checkVerbose(verbose);
            return this;
        }

        /** Where progress messages go; default standard error. */
        public Builder optProgressSink(Consumer<String> sink) {
            this.progressSink = Objects.requireNonNull(sink, "sink");
            return this;
        }

        /** Live progress bar on standard error; default: when verbose > 0 and stderr is a terminal. */
        public Builder optProgressBar(boolean progressBar) {
            this.progressBar = progressBar;
            return this;
        }

        /**
         * Runs {@code initializer.init(initArgs)} once in every worker before its first task (in the caller,
         * once, when sequential). Serialized for worker JVMs. Default: none.
         */
        public Builder optInitializer(Initializer initializer, Object... initArgs) {
            workerOptions.optInitializer(initializer, initArgs);
            this.initializer = initializer;
            this.initArgs = initArgs == null ? new Object[0] : initArgs.clone();
            return this;
        }

        /**
         * Sets an environment variable in every worker JVM (the process backend; threads and sequential
         * runs share this JVM's environment). Setting a thread-limit variable overrides the default cap.
         */
        public Builder optEnv(String name, String value) {
            workerOptions.optEnv(name, value);
            env.put(name, value);
            return this;
        }

        /** Extra JVM options for every worker JVM (the process backend), e.g. {@code -Xmx2g}; default none. */
        public Builder optJvmOptions(String... options) {
            workerOptions.optJvmOptions(options);
            jvmOptions.addAll(List.of(options));
            return this;
        }

        /**
         * Allows classes matching these {@link java.io.ObjectInputFilter} patterns (e.g. {@code com.example.**})
         * in the tasks, arguments and results that cross to worker JVMs, besides {@code java.**} and
         * {@code dev.tessera.**}; added to those of the enclosing {@link ParallelConfig} scopes.
         */
        public Builder optAllowPatterns(String... patterns) {
            allowPatterns.addAll(AllowPatterns.check(patterns));
            return this;
        }

        /**
         * Caps the native thread pools of each worker JVM ({@code OMP_NUM_THREADS}, {@code MKL_NUM_THREADS},
         * {@code OPENBLAS_NUM_THREADS}, PyTorch's {@code ai.djl.pytorch.num_threads}) at {@code n}, joblib's
         * {@code inner_max_num_threads}; an {@link #optEnv} for one of them wins. Default: max(cpus / nJobs, 1).
         * Only worker JVMs are capped: threads and sequential runs share this JVM's pools.
         */
        public Builder optInnerMaxNumThreads(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("innerMaxNumThreads=" + n + " (expected >= 1)");
            }
            this.innerMaxNumThreads = n;
            return this;
        }

        /**
         * joblib's {@code max_nbytes} for the process backend: a DJL or ND4J array argument or result of at most
         * {@code bytes} bytes travels inside the message, a larger one as a shared-memory stub; a
         * {@code SharedTensor} always as a stub. Default: the enclosing scope's, else
         * {@link TensorCodec#DEFAULT_MAX_NBYTES} (1 MiB). 0 sends every non-empty array by
         * stub, {@link Long#MAX_VALUE} every array inline. Negative values throw {@link IllegalArgumentException}.
         * Threads and sequential runs pass tensors by reference and ignore it.
         */
        public Builder optMaxNbytes(long bytes) {
            this.maxNbytes = TensorCodec.Builder.checkMaxNbytes(bytes);
            return this;
        }

        /**
         * Resolves the configuration (builder, then the enclosing {@link Parallel#config()} scope, then the
         * defaults) and creates the backend; pools start on the first call, not here.
         *
         * @throws IllegalArgumentException if {@code require(SHAREDMEM)} contradicts an explicit backend
         * @throws IllegalStateException if a registered backend reports an effective nJobs outside 1..nJobs
         */
        public Parallel build() {
            ParallelSettings.Environment env = ParallelSettings.Environment.capture();
            ParallelSettings.Choice choice = ParallelSettings.choose(this, env);
            return new Parallel(ParallelSettings.conclude(this, env, choice), choice.backend());
        }
    }
}
