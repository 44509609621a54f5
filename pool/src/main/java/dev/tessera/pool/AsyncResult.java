package dev.tessera.pool;

import java.time.Duration;

/**
 * The pending result of {@code applyAsync}, {@code mapAsync} or {@code starmapAsync}, like
 * {@code multiprocessing.pool.AsyncResult}. Thread-safe: any thread may wait on it.
 *
 * @param <R> result type
 */
public interface AsyncResult<R> {
    /**
     * Waits for the result.
     *
     * @throws TaskFailedException the task threw (the cause is the task's exception)
     * @throws WorkerCrashedException the worker died while it ran the task
     * @throws java.util.concurrent.CancellationException the pool was terminated or the task cancelled
     */
    R get();

    /** Like {@link #get()}, waiting at most {@code timeout}; throws {@link TaskTimeoutException} after it. */
    R get(Duration timeout);

    /** Waits at most {@code timeout}; returns whether the result is ready. */
    boolean waitFor(Duration timeout);

    /** Whether the call has completed, successfully or not. */
    boolean ready();

    /**
     * Whether the call completed without an exception.
     *
     * @throws IllegalStateException if it is not ready yet
     */
    boolean successful();
}
