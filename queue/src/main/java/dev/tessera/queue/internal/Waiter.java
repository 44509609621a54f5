package dev.tessera.queue.internal;

/**
 * One blocked call's way of waiting for the ring to change: polling ({@link Backoff}) or sleeping until a peer
 * signals ({@link EventCount}'s futex waiter). Not thread-safe: one per blocked call, closed when the call ends.
 *
 * <p>The caller's loop is: try the ring; if it is not ready, {@link #idle}; repeat. A waiter never decides that
 * the ring is ready: every return from {@link #idle} is followed by another try, which is also the re-check that
 * an event count needs between registering and sleeping.
 */
public interface Waiter extends AutoCloseable {
    /**
     * Waits one step, at most {@code remainingNanos}.
     *
     * @param remainingNanos time left before the caller's deadline; positive
     */
    void idle(long remainingNanos);

    /** Whether this wait has gone past spinning (time for slow-path checks such as crash recovery). */
    boolean parking();

    /** Ends the wait (a sleeper leaves the waiter count); idempotent. */
    @Override
    void close();
}
