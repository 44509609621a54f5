package dev.tessera.pool;

import dev.tessera.pool.internal.Engines;

/**
 * A pool that runs every task in the calling thread when it is submitted (pynitride's
 * {@code FakePool}): the reference behaviour and the fallback for {@code nJobs == 1}. Thread-safe:
 * concurrent submissions are serialized. Owns nothing but its initializer state; {@code close} is cheap.
 */
public final class SequentialPool extends AbstractPool {
    private SequentialPool(Builder b) {
        super(Engines.inline(b.resolveName("sequential"), b.setup()));
    }

    /** A sequential pool with default options. */
    public static SequentialPool create() {
        return builder().build();
    }

    /** A new builder with the defaults listed on {@link Builder}; a builder is not thread-safe. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link SequentialPool}; one worker, so {@code optWorkers} accepts only 1. */
    public static final class Builder extends PoolOptions<Builder> {
        private Builder() {
            workers = 1;
        }

        /**
         * Builds the pool; its one worker is the calling thread, so nothing is started.
         *
         * @throws IllegalArgumentException if {@code optWorkers} was set to anything but 1
         */
        public SequentialPool build() {
            if (workers != 1) {
                throw new IllegalArgumentException("workers=" + workers + " (a SequentialPool has exactly 1)");
            }
            return new SequentialPool(this);
        }
    }
}
