package dev.tessera.pool.parallel;

import dev.tessera.pool.internal.NoParallelScope;
import dev.tessera.sharedmem.TensorCodec;
import dev.tessera.sharedmem.internal.AllowPatterns;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Defaults for {@link Parallel} in a scope, like joblib's {@code parallel_config}: values set here
 * apply to every {@code Parallel} built in the same thread until the scope closes; unset values fall
 * through to the enclosing scope. Scopes are thread-confined and nest; {@link Scope#close()} is
 * idempotent and exception-safe in try-with-resources.
 */
public final class ParallelConfig {
    private static final ThreadLocal<Frame> CURRENT = new ThreadLocal<>();

    /** One level of the scope stack; immutable. */
    record Frame(Frame parent, Integer nJobs, String backendName, Integer verbose, Duration timeout,
            Long maxNbytes, List<String> allowPatterns, boolean sequentialOnly) {
        <T> T find(java.util.function.Function<Frame, T> get) {
            for (Frame f = this; f != null; f = f.parent) {
                T v = get.apply(f);
                if (v != null) {
                    return v;
                }
            }
            return null;
        }

        boolean forcesSequential() {
            for (Frame f = this; f != null; f = f.parent) {
                if (f.sequentialOnly) {
                    return true;
                }
            }
            return false;
        }
    }

    private Integer nJobs;
    private String backendName;
    private Integer verbose;
    private Duration timeout;
    private Long maxNbytes;
    private final List<String> allowPatterns = new ArrayList<>();

    ParallelConfig() {}

    static Frame current() {
        return CURRENT.get();
    }

    /** Default nJobs in the scope (0 is an error, as in {@link Parallel.Builder#optNJobs}). */
    public ParallelConfig optNJobs(int nJobs) {
        Parallel.checkNJobs(nJobs);
        this.nJobs = nJobs;
        return this;
    }

    /** Default built-in backend in the scope (not {@code CUSTOM}: name a registered one with {@link #optBackend(String)}). */
    public ParallelConfig optBackend(Parallel.Backend backend) {
        this.backendName = Backends.checkBuiltin(backend);
        return this;
    }

    /** Default backend in the scope by name: a built-in one or one registered with {@link Parallel#registerBackend}. */
    public ParallelConfig optBackend(String name) {
        this.backendName = Backends.checkKnown(name);
        return this;
    }

    /**
     * Allows classes matching these {@link java.io.ObjectInputFilter} patterns (e.g. {@code com.example.**})
     * in worker JVMs of every {@code Parallel} built in the scope, on top of the builder's own patterns and
     * those of enclosing scopes; same rules as {@link Parallel.Builder#optAllowPatterns}.
     */
    public ParallelConfig optAllowPatterns(String... patterns) {
        allowPatterns.addAll(AllowPatterns.check(patterns));
        return this;
    }

    /** Default verbosity in the scope, {@code >= 0}; same scale as {@link Parallel.Builder#optVerbose}. */
    public ParallelConfig optVerbose(int verbose) {
        this.verbose = Parallel.checkVerbose(verbose);
        return this;
    }

    /** Default per-task timeout in the scope, {@code > 0}; same meaning as {@link Parallel.Builder#optTimeout}. */
    public ParallelConfig optTimeout(Duration timeout) {
        this.timeout = Parallel.checkTimeout(timeout);
        return this;
    }

    /**
     * Default threshold in the scope, {@code >= 0}, joblib's {@code max_nbytes}; same meaning as
     * {@link Parallel.Builder#optMaxNbytes}.
     */
    public ParallelConfig optMaxNbytes(long bytes) {
        this.maxNbytes = TensorCodec.Builder.checkMaxNbytes(bytes);
        return this;
    }

    /** Enters the scope; close the returned {@link Scope} to leave it. */
    public Scope apply() {
        return push(new Frame(CURRENT.get(), nJobs, backendName, verbose, timeout, maxNbytes,
                allowPatterns.isEmpty() ? null : List.copyOf(allowPatterns), false));
    }

    static Scope push(Frame frame) {
        CURRENT.set(frame);
        return new Scope(frame);
    }

    /** Enters a scope that forces sequential execution ({@link Parallel#noParallel()}), for pools too. */
    static Scope pushNoParallel() {
        NoParallelScope.enter();
        return push(new Frame(CURRENT.get(), null, null, null, null, null, null, true));
    }

    /** An entered configuration scope; closing it restores the enclosing one. */
    public static final class Scope implements AutoCloseable {
        private final Frame frame;
        private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

        private Scope(Frame frame) {
            this.frame = frame;
        }

        @Override
        public void close() {
            if (!closed.compareAndSet(false, true)) {
                return;
            }
            if (CURRENT.get() != frame) {
                // closed out of order (or from another thread): drop just this frame from the stack
                throw new IllegalStateException("configuration scopes must be closed in reverse order of apply(), "
                        + "in the thread that applied them");
            }
            CURRENT.set(frame.parent());
            if (frame.parent() == null) {
                CURRENT.remove();
            }
            if (frame.sequentialOnly()) {
                NoParallelScope.exit();
            }
        }
    }
}
