package dev.tessera.pool.parallel;

import dev.tessera.pool.BatchSubmitter;
import dev.tessera.pool.Initializer;
import dev.tessera.pool.PoolException;
import dev.tessera.pool.SerializableCallable;
import dev.tessera.pool.SerializableFunction;
import dev.tessera.pool.TaskFailedException;
import dev.tessera.pool.internal.Outcomes;
import dev.tessera.sharedmem.TensorCodec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where a {@link Parallel} runs its batches (joblib's {@code ParallelBackendBase}); implementations must be
 * thread-safe, and the {@code Parallel} that obtained an instance from its factory owns it, while tasks and
 * results belong to that Parallel's caller. Register an implementation with {@link Parallel#registerBackend}
 * and select it with {@link Parallel.Builder#optBackend(String)}. {@link #submit}, {@link #abortEverything}
 * and {@link #close} come from the thread that drives a call, while batches complete on whatever threads the
 * backend uses. The owner calls {@link #configure} once before the first batch and {@link #close} once when
 * it is closed; nobody else uses the instance.
 *
 * <p>Life cycle, per {@code Parallel}: the factory is called in {@code build()} (so construction must be
 * cheap and start nothing); {@link #supportsSharedMemory()} and {@link #effectiveNJobs} are asked there;
 * {@link #configure} runs at the first call; then any number of {@link #submit}s, across calls, and
 * {@link #abortEverything} after a call failed; finally {@link #close}.
 *
 * <p>Parallel keeps its own rules whatever the backend: joblib's automatic batching, at most
 * {@code preDispatch} batches in flight per call, fail-fast on the first error, results in order. A backend
 * only has to run each batch once and report its outcome through the batch. A minimal backend on an
 * {@link java.util.concurrent.ExecutorService}:
 *
 * <pre>{@code
 * final class ExecutorBackend implements ParallelBackend {
 *     private ExecutorService executor;
 *     public int effectiveNJobs(int nJobs) { return nJobs; }
 *     public void configure(Settings settings) { executor = Executors.newFixedThreadPool(settings.nJobs()); }
 *     public void submit(Batch batch) { executor.execute(batch::run); }
 *     public void abortEverything() { } // Parallel already cancelled the failed call's batches
 *     public boolean supportsTimeout() { return true; }
 *     public boolean supportsSharedMemory() { return true; }
 *     public void close() { if (executor != null) executor.shutdownNow(); }
 * }
 * Parallel.registerBackend("executor", ExecutorBackend::new);
 * }</pre>
 */
public interface ParallelBackend extends AutoCloseable {
    /**
     * The number of workers this backend runs for a request of {@code nJobs}, between 1 and {@code nJobs}.
     * Parallel has already turned negative values into CPU counts and capped them inside workers, so
     * {@code nJobs >= 1}. A result of 1 makes Parallel run the call sequentially in the caller's thread
     * instead, as joblib does.
     */
    int effectiveNJobs(int nJobs);

    /**
     * Prepares the backend (starts its workers, runs the initializer in each) for batches; called once,
     * before the first {@link #submit}, from the thread of the first call.
     *
     * @param settings the effective number of workers and the worker options given to {@link Parallel.Builder}
     */
    void configure(Settings settings);

    /**
     * Runs the batch once, now or later, on any thread or machine: either call {@link Batch#run()} where
     * it should run, or {@link Batch#start()} then {@link Batch#complete} or {@link Batch#fail}. Must not
     * block until the batch is done (the sequential backend is the exception). A batch Parallel has
     * cancelled meanwhile does not start.
     *
     * @throws IllegalStateException when the backend is closed
     */
    void submit(Batch batch);

    /**
     * Stops work the backend still does for Parallel and keeps it usable for the next call (joblib's
     * {@code abort_everything(ensure_ready=True)}). Called after a call failed, once Parallel has cancelled
     * that call's batches itself (a batch not yet started never starts; a thread inside {@link Batch#run()}
     * is interrupted), and only when no other call on the same {@code Parallel} is still live. A backend
     * that runs batches only through {@link Batch#run()} in this JVM has nothing left to do.
     */
    void abortEverything();

    /** Whether Parallel may enforce its per-task timeout (by cancelling late batches); joblib's {@code supports_timeout}. */
    boolean supportsTimeout();

    /**
     * Whether tasks see the caller's objects (they run in this JVM); {@code require(SHAREDMEM)} with a
     * backend that does not is an {@link IllegalArgumentException} when the backend was chosen explicitly.
     */
    boolean supportsSharedMemory();

    /** Stops the workers and releases what the backend holds; called once by the owning Parallel. */
    @Override
    void close();

    /**
     * The immutable settings a backend is configured with (the lists and map are unmodifiable copies).
     *
     * @param nJobs the effective number of workers, from {@link ParallelBackend#effectiveNJobs}
     * @param initializer runs once in every worker before its first batch, with {@code initArgs}; null for none
     * @param initArgs the initializer's arguments
     * @param env environment variables for worker processes
     * @param jvmOptions extra JVM options for worker JVMs
     * @param innerMaxNumThreads cap on native thread pools ({@code OMP_NUM_THREADS} and alike) in workers;
     *        0 means the default, max(cpus / nJobs, 1)
     * @param allowPatterns {@link java.io.ObjectInputFilter} patterns of classes worker JVMs may deserialize
     *        besides {@code java.**} and {@code dev.tessera.**}
     * @param maxNbytes joblib's {@code max_nbytes}: the largest DJL or ND4J array that crosses to a worker
     *        process inside a message; larger ones cross as shared-memory stubs
     */
    record Settings(int nJobs, Initializer initializer, List<Object> initArgs, Map<String, String> env,
            List<String> jvmOptions, int innerMaxNumThreads, List<String> allowPatterns, long maxNbytes) {
        /**
         * Checks the counts and copies the collections.
         *
         * @throws IllegalArgumentException if {@code nJobs < 1}, {@code innerMaxNumThreads < 0} or
         *         {@code maxNbytes < 0}
         */
        public Settings {
            TensorCodec.Builder.checkMaxNbytes(maxNbytes);
            if (nJobs < 1) {
                throw new IllegalArgumentException("nJobs=" + nJobs + " (expected >= 1)");
            }
            if (innerMaxNumThreads < 0) {
                throw new IllegalArgumentException("innerMaxNumThreads=" + innerMaxNumThreads + " (expected >= 0)");
            }
            initArgs = Collections.unmodifiableList(new ArrayList<>(initArgs));
            env = Map.copyOf(env);
            jvmOptions = List.copyOf(jvmOptions);
            allowPatterns = List.copyOf(allowPatterns);
        }
    }

    /**
     * Consecutive tasks of one {@link Parallel} call that run together on one worker (joblib's
     * {@code BatchedCalls}); thread-safe, created and owned by Parallel, its results belonging to Parallel's
     * caller. Its state moves QUEUED → RUNNING → DONE, or to CANCELLED from either of the first two, by
     * compare-and-swap, so the first outcome wins and later ones are ignored.
     */
    final class Batch {
        static final int QUEUED = 0;
        static final int RUNNING = 1;
        static final int DONE = 2;
        static final int CANCELLED = 3;

        /** Where a batch reports its single outcome: the call that created it. */
        interface Listener {
            void onResult(Batch batch, Object[] values);

            void onFailure(Batch batch, RuntimeException failure);
        }

        /** The function every task applies, or null when {@link #args} are the tasks themselves. */
        final SerializableFunction<?, ?> fn;
        /** The arguments of {@link #fn}, or the {@link SerializableCallable}s when {@code fn} is null. */
        final Object[] args;
        final long firstIndex;
        private final Listener listener;
        private final AtomicInteger state = new AtomicInteger(QUEUED);
        private volatile long startedNanos;
        private volatile String workerName = "?";
        /** The pool batch a built-in pool backend runs this batch as; cancelling the batch cancels it. */
        private volatile BatchSubmitter.Submission chunk;
        /** The thread inside {@link #run()}, interrupted on cancellation; guarded by {@code this}. */
        private Thread runner;
        /** Whether {@link #cancel} interrupted {@link #runner}; guarded by {@code this}. */
        private boolean runnerInterrupted;

        Batch(SerializableFunction<?, ?> fn, Object[] args, long firstIndex, Listener listener) {
            this.fn = fn;
            this.args = args;
            this.firstIndex = firstIndex;
            this.listener = listener;
        }

        /** Number of tasks. */
        public int size() {
            return args.length;
        }

        /** Index of the first task within its call, as error messages count them. */
        public long firstIndex() {
            return firstIndex;
        }

        /**
         * The tasks, for a backend that ships them elsewhere; each is {@link java.io.Serializable} if the
         * caller's tasks are. Report their results, in this order, with {@link #complete}.
         */
        public List<SerializableCallable<?>> tasks() {
            List<SerializableCallable<?>> out = new ArrayList<>(args.length);
            for (Object a : args) {
                out.add(fn == null ? (SerializableCallable<?>) a : Parallel.delayed(cast(fn), a));
            }
            return out;
        }

        @SuppressWarnings("unchecked")
        private static SerializableFunction<Object, Object> cast(SerializableFunction<?, ?> fn) {
            return (SerializableFunction<Object, Object>) fn;
        }

        /**
         * Runs the tasks in the calling thread, in order, stopping at the first that throws, and reports
         * the outcome; does nothing if the batch was cancelled or already started. If Parallel cancels the
         * batch meanwhile, the calling thread is interrupted (and its interrupt flag cleared on return).
         */
        public void run() {
            synchronized (this) {
                runner = Thread.currentThread(); // before start(): a cancel right after it must find the thread
            }
            try {
                if (!start()) {
                    return;
                }
                Object[] values = new Object[args.length];
                for (int i = 0; i < args.length; i++) {
                    try {
                        values[i] = call(args[i]);
                    } catch (VirtualMachineError e) {
                        throw e;
                    } catch (Throwable t) {
                        failItem(i, t);
                        return;
                    }
                }
                finish(values);
            } finally {
                boolean interruptedByCancel;
                synchronized (this) {
                    runner = null;
                    interruptedByCancel = runnerInterrupted;
                }
                if (interruptedByCancel) {
                    Thread.interrupted(); // our own interrupt must not leak into the thread's next work
                }
            }
        }

        @SuppressWarnings("unchecked")
        private Object call(Object arg) throws Exception {
            return fn == null ? ((SerializableCallable<?>) arg).call() : ((SerializableFunction<Object, Object>) fn).apply(arg);
        }

        /**
         * Marks the batch as running on the calling thread's worker, which starts its timeout; for backends
         * that run the tasks elsewhere and then call {@link #complete} or {@link #fail}.
         *
         * @return false if the batch was cancelled (or already started): do not run it
         */
        public boolean start() {
            if (!state.compareAndSet(QUEUED, RUNNING)) {
                return false;
            }
            workerName = Thread.currentThread().getName();
            startedNanos = System.nanoTime();
            return true;
        }

        /**
         * Reports the results of all tasks, in task order; ignored if the batch already has an outcome
         * (it was cancelled, for example).
         *
         * @throws IllegalArgumentException if {@code results.size() != size()}
         */
        public void complete(List<?> results) {
            if (results.size() != args.length) {
                throw new IllegalArgumentException("results.size()=" + results.size() + " (expected " + args.length
                        + ", one per task of " + describe() + ")");
            }
            finish(results.toArray());
        }

        /**
         * Reports that the batch failed as a whole ({@code error} from the backend, or from a task when the
         * backend cannot tell which); Parallel rethrows it wrapped in a {@link TaskFailedException}. Ignored
         * if the batch already has an outcome.
         */
        public void fail(Throwable error) {
            Objects.requireNonNull(error, "error");
            RuntimeException failure = error instanceof PoolException pe ? pe
                    : new TaskFailedException(describe() + " failed in backend worker " + workerName + ": "
                            + error.getClass().getName() + (error.getMessage() == null ? "" : ": " + error.getMessage()),
                            error);
            failWith(failure);
        }

        /** Whether Parallel cancelled the batch; a backend running it elsewhere may stop it then. */
        public boolean isCancelled() {
            return state.get() == CANCELLED;
        }

        private void failItem(int item, Throwable error) {
            failWith(Outcomes.itemFailure(firstIndex + item, workerName, error));
        }

        void finish(Object[] values) {
            if (state.compareAndSet(RUNNING, DONE) || state.compareAndSet(QUEUED, DONE)) {
                listener.onResult(this, values);
            }
        }

        void failWith(RuntimeException failure) {
            if (state.compareAndSet(RUNNING, DONE) || state.compareAndSet(QUEUED, DONE)) {
                listener.onFailure(this, failure);
            }
        }

        /**
         * Runs this batch as {@code chunk} of a built-in pool: its start time, worker and cancellation.
         *
         * @return whether the batch already has its outcome (or was cancelled, which now cancels the chunk too)
         */
        boolean runAs(BatchSubmitter.Submission chunk) {
            this.chunk = chunk;
            int s = state.get();
            if (s == CANCELLED) {
                chunk.cancel(new java.util.concurrent.CancellationException("cancelled before it was submitted"));
            }
            return s == DONE || s == CANCELLED;
        }

        /**
         * Cancels the batch: it never starts if queued; if running, its thread is interrupted or its worker
         * JVM killed and replaced (built-in backends). Reports nothing to the listener.
         */
        void cancel(RuntimeException reason) {
            if (!state.compareAndSet(QUEUED, CANCELLED) && !state.compareAndSet(RUNNING, CANCELLED)) {
                return;
            }
            BatchSubmitter.Submission c = chunk;
            if (c != null) {
                c.cancel(reason);
            }
            synchronized (this) {
                if (runner != null) {
                    runner.interrupt();
                    runnerInterrupted = true;
                }
            }
        }

        /** When a worker took the batch ({@link System#nanoTime()}), or 0 while it is queued. */
        long startedNanos() {
            BatchSubmitter.Submission c = chunk;
            return c != null ? c.startedNanos() : startedNanos;
        }

        String workerName() {
            BatchSubmitter.Submission c = chunk;
            return c != null ? c.workerName() : workerName;
        }

        /** Human description used in exception messages. */
        String describe() {
            BatchSubmitter.Submission c = chunk;
            if (c != null) {
                return c.describe();
            }
            return args.length == 1 ? "task #" + firstIndex
                    : "tasks #" + firstIndex + ".." + (firstIndex + args.length - 1);
        }

        @Override
        public String toString() {
            return "Batch[" + describe() + "]";
        }
    }
}
