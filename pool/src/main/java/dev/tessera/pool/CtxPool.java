package dev.tessera.pool;

import java.util.List;

/**
 * A {@link ProcessPool} whose worker JVM {@code i} owns a deserialized copy of context {@code i}
 * (machin's {@code CtxPool}); a replacement worker gets a fresh copy of the same context. Thread-safe
 * for submission; the pool owns the workers and their copies, the caller keeps its originals.
 *
 * @param <C> context type, serializable
 */
public final class CtxPool<C> extends AbstractContextPool<C> {
    private CtxPool(Builder<C> b) {
        super(ProcessPool.start(b, b.resolveName("ctx-processes")));
    }

    /** A new builder with the defaults listed on {@link Builder}; a builder is not thread-safe. */
    public static <C> Builder<C> builder() {
        return new Builder<>();
    }

    /** Builds a {@link CtxPool}; {@code setWorkerContexts} is required and fixes the worker count. */
    public static final class Builder<C> extends ProcessOptions<Builder<C>> {
        private Builder() {}

        /** One serializable context per worker; the number of workers is the number of contexts. */
        public Builder<C> setWorkerContexts(List<? extends C> workerContexts) {
            contexts(workerContexts);
            return this;
        }

        /**
         * Starts the workers and returns once every one is ready (its initializer has run).
         *
         * @throws IllegalStateException if {@code setWorkerContexts} was not called
         * @throws PoolException if a worker failed to start, its initializer threw, or it was not ready
         *     within {@code optStartTimeout} plus 5 s
         */
        public CtxPool<C> build() {
            if (contexts == null) {
                throw new IllegalStateException("setWorkerContexts(...) is required for a CtxPool");
            }
            return new CtxPool<>(this);
        }
    }
}
