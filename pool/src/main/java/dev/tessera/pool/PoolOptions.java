package dev.tessera.pool;

import dev.tessera.pool.internal.WorkerSetup;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Options every pool builder shares. Not thread-safe: a builder is used by one thread.
 *
 * @param <B> the concrete builder, returned by every setter
 */
abstract class PoolOptions<B extends PoolOptions<B>> {
    private static final java.util.concurrent.atomic.AtomicInteger POOL_IDS = new java.util.concurrent.atomic.AtomicInteger();

    String name;
    int workers = -1;
    Initializer initializer;
    Object[] initArgs = new Object[0];
    int maxTasksPerChild;
    List<?> contexts;

    @SuppressWarnings("unchecked")
    B self() {
        return (B) this;
    }

    /** Pool name used in worker names and messages; default {@code <kind>-<n>}. */
    public B optName(String name) {
        if (name == null || name.isBlank() || !name.matches("[A-Za-z0-9_.-]+")) {
            throw new IllegalArgumentException("name='" + name + "' (expected letters, digits, '_', '.', '-')");
        }
        this.name = name;
        return self();
    }

    /** Number of workers, at least 1; default: the number of CPUs (or of contexts in a context pool). */
    public B optWorkers(int workers) {
        if (workers < 1) {
            throw new IllegalArgumentException("workers=" + workers + " (expected >= 1)");
        }
        this.workers = workers;
        return self();
    }

    /**
     * Runs {@code initializer.init(initArgs)} once in every worker (and every replacement) before its first
     * task; default none. A second call replaces the first; {@code initArgs} is copied.
     */
    public B optInitializer(Initializer initializer, Object... initArgs) {
        this.initializer = Objects.requireNonNull(initializer, "initializer");
        this.initArgs = initArgs == null ? new Object[0] : initArgs.clone();
        return self();
    }

    /** Replaces a worker after it ran this many tasks (chunks); 0, the default, means never. */
    public B optMaxTasksPerChild(int maxTasksPerChild) {
        if (maxTasksPerChild < 0) {
            throw new IllegalArgumentException("maxTasksPerChild=" + maxTasksPerChild + " (expected >= 0)");
        }
        this.maxTasksPerChild = maxTasksPerChild;
        return self();
    }

    void contexts(List<?> contexts) {
        Objects.requireNonNull(contexts, "workerContexts");
        if (contexts.isEmpty()) {
            throw new IllegalArgumentException("workerContexts is empty (expected one context per worker)");
        }
        this.contexts = new ArrayList<>(contexts);
    }

    /** Checks how the options combine and resolves defaults. */
    int resolveWorkers() {
        if (contexts != null) {
            if (workers != -1 && workers != contexts.size()) {
                throw new IllegalArgumentException("workers=" + workers + " but workerContexts.size()=" + contexts.size()
                        + " (expected equal: one context per worker)");
            }
            return contexts.size();
        }
        return workers == -1 ? Runtime.getRuntime().availableProcessors() : workers;
    }

    String resolveName(String kind) {
        return name != null ? name : kind + "-" + POOL_IDS.incrementAndGet();
    }

    WorkerSetup setup() {
        return new WorkerSetup(Tasks.ofInitializer(initializer), initArgs, contexts, maxTasksPerChild);
    }
}
