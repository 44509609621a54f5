package dev.tessera.pool;

import dev.tessera.pool.internal.AddressedEngine;
import dev.tessera.pool.internal.Engines;

/**
 * A pool of worker JVMs started with this JVM's java binary, class path and JVM options. Thread-safe.
 * The pool owns its worker processes and their sockets; the builder's caller owns the pool and must
 * close it. Tasks, arguments and results are serialized (a tensor crosses inside the message when it has at
 * most {@code optMaxNbytes} bytes, 1 MiB by default, and as a shared-memory stub otherwise; a {@code SharedTensor}
 * always as a stub; {@code optCopyTensors} forces one way). A worker that dies fails only its in-flight task with
 * {@link WorkerCrashedException} and is replaced; workers exit on their own when this JVM dies.
 * Tasks from the caller's own packages need no option: each task allows its own package tree and its
 * arguments' in the worker ({@code optAllowPatterns} covers anything else).
 *
 * <p>Tensors, as DJL users expect them:
 * <ul>
 *   <li>An {@code NDArray} argument reaches the worker as a copy (by stub: one copy into a fresh shared
 *       segment the worker maps; inline: its bytes in the message), so the worker's in-place writes stay
 *       in the worker. A {@code SharedTensor} argument travels as a stub over the same memory: the
 *       parent sees the worker's writes (not with {@code optCopyTensors(true)}). A worker owns the
 *       {@code SharedTensor} it receives and should close it; the NDArrays it receives are released when
 *       its task's result has been sent.
 *   <li>An {@code NDArray} in a result (at the top level or inside collections) is attached to the
 *       manager of the first {@code NDArray} among the task's arguments (for {@code map}, among its
 *       chunk's arguments), the way DJL attaches an operation's result to its input's manager. Closing
 *       that manager releases the result and, for stubs, its shared-memory segment. A task without an
 *       NDArray argument (or whose argument's manager was closed meanwhile) gets its result NDArrays in
 *       a manager of the pool, released when the pool closes.
 * </ul>
 */
public final class ProcessPool extends AbstractPool {
    /**
     * How much longer the pool waits for all workers than each worker may take to start: a slot's own start
     * timeout fires first and names the worker and the cause; this wait is only the backstop.
     */
    static final long READY_MARGIN_MILLIS = 5_000;

    private ProcessPool(Builder b) {
        super(start(b, b.resolveName("processes")));
    }

    static AddressedEngine start(ProcessOptions<?> b, String name) {
        int workers = b.resolveWorkers();
        return Engines.processes(name, workers, b.setup(), b.config(workers),
                b.startTimeout.toMillis() + READY_MARGIN_MILLIS);
    }

    /** A new builder with the defaults listed on {@link Builder}; a builder is not thread-safe. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link ProcessPool}; defaults: one worker per CPU, tensors as stubs, 60 s start timeout. */
    public static final class Builder extends ProcessOptions<Builder> {
        private Builder() {}

        /**
         * Starts the workers and returns once every one is ready (its initializer has run).
         *
         * @throws PoolException if a worker failed to start, its initializer threw, or it was not ready
         *     within {@code optStartTimeout} plus 5 s
         */
        public ProcessPool build() {
            return new ProcessPool(this);
        }
    }
}
