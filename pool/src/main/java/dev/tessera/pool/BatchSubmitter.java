package dev.tessera.pool;

/**
 * Submits one batch of calls of one function to a pool's workers; implementations are thread-safe. The
 * pool owns its workers; the caller keeps owning the arguments and receives the results. This is the seam
 * that {@code Parallel}'s built-in backends run on, and a custom
 * {@link dev.tessera.pool.parallel.ParallelBackend} can run on it too: every pool ({@link SequentialPool},
 * {@link ThreadPool}, {@link ProcessPool}, and the context pools, whose context a batch's function does not
 * receive) implements it.
 *
 * <pre>{@code
 * try (ThreadPool pool = ThreadPool.builder().optWorkers(4).build()) {
 *     pool.submitBatch(x -> (Integer) x * 2, new Object[] {1, 2, 3}, 0, new BatchSubmitter.Listener() {
 *         public void onResult(Object[] values) { ... }           // [2, 4, 6]
 *         public void onFailure(RuntimeException failure) { ... } // e.g. a TaskFailedException
 *     });
 * }
 * }</pre>
 */
public interface BatchSubmitter {
    /**
     * Runs {@code fn} on each of {@code args}, in order, as one unit on one worker, and reports one outcome to
     * {@code listener}, on a thread of the pool. A worker JVM receives a function once and keeps it for
     * later batches that pass the same (or an equal) function.
     *
     * @param fn the function; serializable for process pools
     * @param args its arguments, one call each
     * @param firstIndex the index of {@code args[0]} within the caller's work, for messages ("task #17")
     * @param listener hears the results or the first failure, exactly once (unless the batch is cancelled)
     * @return the submitted batch, to watch or cancel it
     * @throws IllegalStateException if the pool is closed
     */
    Submission submitBatch(SerializableFunction<Object, Object> fn, Object[] args, long firstIndex, Listener listener);

    /** Hears the one outcome of a batch; called on a thread of the pool, so it must not block. */
    interface Listener {
        /** Every call returned; {@code values} in argument order. */
        void onResult(Object[] values);

        /**
         * The batch failed: the first failing call's {@link TaskFailedException}, a {@link WorkerCrashedException},
         * or another {@link PoolException}.
         */
        void onFailure(RuntimeException failure);
    }

    /** A submitted batch; thread-safe. */
    interface Submission {
        /** When a worker took the batch ({@link System#nanoTime()}), or 0 while it is queued. */
        long startedNanos();

        /** The name of the worker that runs (or ran) the batch, {@code "?"} while it is queued. */
        String workerName();

        /** A description for messages, such as {@code tasks #0..9 (chunk 3)}. */
        String describe();

        /**
         * Cancels the batch: it never starts if queued; if it runs, its thread is interrupted or its worker JVM
         * killed and replaced. The listener hears nothing more.
         *
         * @return whether this call cancelled it (false when it had finished or was cancelled already)
         */
        boolean cancel(RuntimeException reason);
    }
}
