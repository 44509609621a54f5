package dev.tessera.pool;

import dev.tessera.pool.internal.Engine;
import dev.tessera.pool.internal.Engines;

/**
 * A pool of platform threads in this JVM; tasks and results are passed by reference, never copied.
 * Thread-safe. The pool owns its threads; the builder's caller owns the pool and closes it.
 * Cancelling a running task interrupts its thread.
 */
public final class ThreadPool extends AbstractPool {
    private ThreadPool(Builder b) {
        super(start(b, b.resolveName("threads")));
    }

    static Engine start(PoolOptions<?> b, String name) {
        return Engines.threads(name, b.resolveWorkers(), b.setup());
    }

    /** A new builder with the defaults listed on {@link Builder}; a builder is not thread-safe. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link ThreadPool}; defaults: one worker per CPU, no initializer, never replaced. */
    public static final class Builder extends PoolOptions<Builder> {
        private Builder() {}

        /**
         * Starts the workers and returns once every one is ready (its initializer has run).
         *
         * @throws PoolException if a worker failed to start, its initializer threw, or it was not ready
         *     within 60 s
         */
        public ThreadPool build() {
            return new ThreadPool(this);
        }
    }
}
