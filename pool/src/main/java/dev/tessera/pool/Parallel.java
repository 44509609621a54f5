package dev.tessera.pool;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
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
 * <p>Effective configuration, resolved at {@link Parallel.Builder#build()}: explicit builder values,
 * then the enclosing {@link #config()} scope, then the defaults (nJobs 1, processes). A negative nJobs
 * means {@code cpus + 1 + nJobs} (-1 all CPUs, -2 all but one); an effective value of 1 runs
 * sequentially; {@code require(SHAREDMEM)} or {@code prefer(THREADS)} select threads. Inside a pool
 * worker, processes become threads and CPUs are the worker's share; two levels down everything runs
 * sequentially, so nesting never multiplies threads or JVMs. {@link #noParallel()} forces sequential
 * execution in its scope.
 */
public final class Parallel implements AutoCloseable {
    /** Where tasks run. */
    public enum Backend { SEQUENTIAL, THREADS, PROCESSES }

    /** Soft hint used when no backend is given. */
    public enum Prefer { THREADS, PROCESSES }

    /** Hard constraint: SHAREDMEM needs tasks to see the caller's objects, so it forces threads. */
    public enum Require { NONE, SHAREDMEM }

    /** How results are returned: all at once, lazily in submission order, or lazily in completion order. */
    public enum ReturnAs { LIST, GENERATOR, GENERATOR_UNORDERED }

    private final Backend backend;
    private final int nJobs;
    private final int batchSize;
    private final String preDispatch;
    private final int preDispatchTasks;
    private final ReturnAs returnAs;
    private final Duration timeout;
    private final int verbose;
    private final Consumer<String> progressSink;
    private final boolean progressBar;
    private final Consumer<PoolOptions<?>> poolOptions;
    private WorkerPool pool;
    private boolean closed;

    private Parallel(Builder b, ParallelConfig.Frame scope) {
        int requested = inherit(b.nJobs, scope, ParallelConfig.Frame::nJobs, 1);
        Backend wanted = inherit(b.backend, scope, ParallelConfig.Frame::backend,
                b.prefer == Prefer.THREADS ? Backend.THREADS : Backend.PROCESSES);
        if (b.require == Require.SHAREDMEM && wanted == Backend.PROCESSES) {
            wanted = Backend.THREADS;
        }
        int depth = Worker.nestingDepth();
        int cpus = Worker.cpuBudget();
        int n = requested < 0 ? Math.max(cpus + 1 + requested, 1) : requested;
        if (depth >= 1) {
            n = Math.min(n, cpus); // a worker's share of the machine, never more
            wanted = depth >= 2 ? Backend.SEQUENTIAL : wanted == Backend.PROCESSES ? Backend.THREADS : wanted;
        }
        if (scope != null && scope.forcesSequential() || n == 1) {
            wanted = Backend.SEQUENTIAL;
        }
        this.backend = wanted;
        this.nJobs = wanted == Backend.SEQUENTIAL ? 1 : n;
        this.batchSize = b.batchSize;
        this.preDispatch = b.preDispatch;
        this.preDispatchTasks = evalPreDispatch(b.preDispatch, nJobs);
        this.returnAs = b.returnAs;
        this.timeout = inherit(b.timeout, scope, ParallelConfig.Frame::timeout, null);
        this.verbose = inherit(b.verbose, scope, ParallelConfig.Frame::verbose, 0);
        this.progressSink = b.progressSink;
        this.progressBar = b.progressBar != null ? b.progressBar
                : this.verbose > 0 && System.console() != null && System.console().isTerminal();
        this.poolOptions = b.poolOptions;
    }

    /** The builder's value, else the innermost enclosing {@link ParallelConfig}'s, else the default. */
    private static <T> T inherit(T explicit, ParallelConfig.Frame scope,
            java.util.function.Function<ParallelConfig.Frame, T> get, T fallback) {
        if (explicit != null) {
            return explicit;
        }
        T inherited = scope == null ? null : scope.find(get);
        return inherited != null ? inherited : fallback;
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

    public static Builder builder() {
        return new Builder();
    }

    /** Starts a scoped default configuration (joblib's {@code parallel_config}); see {@link ParallelConfig}. */
    public static ParallelConfig config() {
        return new ParallelConfig();
    }

    /** Forces sequential execution for every {@code Parallel} built in this thread until the scope closes. */
    public static ParallelConfig.Scope noParallel() {
        return ParallelConfig.push(new ParallelConfig.Frame(ParallelConfig.current(), null, null, null, null, true));
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

    /** The backend this instance uses after nJobs, hints, nesting and scopes were applied. */
    public Backend backend() {
        return backend;
    }

    /** The number of concurrent workers this instance uses (1 when sequential). */
    public int nJobs() {
        return nJobs;
    }

    /**
     * Runs every task and returns the results: in submission order for {@code LIST} and
     * {@code GENERATOR}, in completion order for {@code GENERATOR_UNORDERED}.
     *
     * @throws TaskFailedException on the first failing task, after cancelling the rest
     * @throws TaskTimeoutException when a task runs longer than the timeout (the rest are cancelled)
     */
    public <R> List<R> call(Iterable<? extends SerializableCallable<? extends R>> tasks) {
        List<R> out = new ArrayList<>();
        Iterator<R> it = start(tasks.iterator(), returnAs != ReturnAs.GENERATOR_UNORDERED);
        it.forEachRemaining(out::add);
        return out;
    }

    /**
     * Runs the tasks lazily, yielding results as {@code returnAs} says (LIST behaves as GENERATOR).
     * Only {@code preDispatch} tasks are pulled ahead of the consumer.
     */
    public <R> Iterator<R> iterate(Iterable<? extends SerializableCallable<? extends R>> tasks) {
        return start(tasks.iterator(), returnAs != ReturnAs.GENERATOR_UNORDERED);
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
        Progress progress = new Progress(verbose, progressSink, progressBar, "[Parallel(n_jobs=" + nJobs + ")]: ");
        progress.print("Using backend " + backend + " with " + nJobs + " concurrent workers.");
        return new ParallelRun<>(pool(), tasks, ordered, batchSize, preDispatchTasks, timeout, progress);
    }

    private WorkerPool pool() {
        if (pool == null || !pool.isOpen()) {
            pool = switch (backend) {
                case SEQUENTIAL -> SequentialPool.create();
                case THREADS -> configured(ThreadPool.builder().optWorkers(nJobs).optName("parallel-threads"));
                case PROCESSES -> configured(ProcessPool.builder().optWorkers(nJobs).optName("parallel-processes"));
            };
        }
        return pool;
    }

    private WorkerPool configured(PoolOptions<?> b) {
        poolOptions.accept(b);
        return b instanceof ThreadPool.Builder t ? t.build() : ((ProcessPool.Builder) b).build();
    }

    /** Stops the workers this instance started. Idempotent. */
    @Override
    public void close() {
        closed = true;
        if (pool != null) {
            pool.close();
        }
    }

    @Override
    public String toString() {
        return "Parallel[backend=" + backend + ", nJobs=" + nJobs + ", preDispatch=" + preDispatch + "]";
    }

    /** Builds a {@link Parallel}; every option is optional. Not thread-safe. */
    public static final class Builder {
        private Integer nJobs;
        private Backend backend;
        private Prefer prefer = Prefer.PROCESSES;
        private Require require = Require.NONE;
        private int batchSize;
        private String preDispatch = "2*n_jobs";
        private ReturnAs returnAs = ReturnAs.LIST;
        private Duration timeout;
        private Integer verbose;
        private Consumer<String> progressSink = System.err::println;
        private Boolean progressBar;
        private Consumer<PoolOptions<?>> poolOptions = o -> {};

        private Builder() {}

        /** Workers: >= 1, or negative for cpus + 1 + nJobs; 0 is an error. Default 1 (joblib's default). */
        public Builder optNJobs(int nJobs) {
            checkNJobs(nJobs);
            this.nJobs = nJobs;
            return this;
        }

        public Builder optBackend(Backend backend) {
            this.backend = Objects.requireNonNull(backend, "backend");
            return this;
        }

        public Builder optPrefer(Prefer prefer) {
            this.prefer = Objects.requireNonNull(prefer, "prefer");
            return this;
        }

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

        /** Further options for the pool this instance starts (used by tests and benchmarks). */
        Builder poolOptions(Consumer<PoolOptions<?>> poolOptions) {
            this.poolOptions = Objects.requireNonNull(poolOptions, "poolOptions");
            return this;
        }

        public Parallel build() {
            return new Parallel(this, ParallelConfig.current());
        }
    }
}
