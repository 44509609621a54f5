package dev.tessera.pool;

import java.util.List;

/**
 * A {@link ThreadPool} whose worker {@code i} owns context {@code i} (machin's {@code CtxThreadPool}).
 * Thread-safe for submission; each context is only touched by its own worker thread. The caller keeps
 * ownership of the context objects.
 *
 * @param <C> context type
 */
public final class CtxThreadPool<C> extends AbstractContextPool<C> {
    private CtxThreadPool(Builder<C> b) {
        super(ThreadPool.start(b, b.resolveName("ctx-threads")));
    }

    /** A new builder with the defaults listed on {@link Builder}; a builder is not thread-safe. */
    public static <C> Builder<C> builder() {
        return new Builder<>();
    }

    /** Builds a {@link CtxThreadPool}; {@code setWorkerContexts} is required and fixes the worker count. */
    public static final class Builder<C> extends PoolOptions<Builder<C>> {
        private Builder() {}

        /** One context per worker; the number of workers is the number of contexts. */
        public Builder<C> setWorkerContexts(List<? extends C> workerContexts) {
            contexts(workerContexts);
            return this;
        }

        /**
         * Starts the workers and returns once every one is ready (its initializer has run).
         *
         * @throws IllegalStateException if {@code setWorkerContexts} was not called
         * @throws PoolException if a worker failed to start, its initializer threw, or it was not ready
         *     within 60 s
         */
        public CtxThreadPool<C> build() {
            if (contexts == null) {
                throw new IllegalStateException("setWorkerContexts(...) is required for a CtxThreadPool");
            }
            return new CtxThreadPool<>(this);
        }
    }
}
