package dev.tessera.queue.internal;

import java.util.concurrent.locks.LockSupport;

/**
 * How a caller waits for a slot or a message: spin, then yield, then park for growing intervals; never past
 * the caller's deadline. Not thread-safe: one per wait.
 *
 * <p>Spinning first keeps the hand-off between two running processes in the microseconds; yielding then lets
 * the other process run on a busy machine; parking (from 1 µs doubling to {@link #MAX_PARK_NANOS}) stops an
 * idle waiter from burning a core. There is no wake-up signal across processes, so the park cap is also the
 * worst extra latency an idle waiter adds.
 */
public final class Backoff {
    static final int SPINS = 2_000;
    static final int YIELDS = 200;
    static final long MAX_PARK_NANOS = 200_000;
    private int step;
    private long park = 1_000;

    /** Whether this wait has gone past spinning and yielding (time for slow-path checks). */
    public boolean parking() {
        return step >= SPINS + YIELDS;
    }

    /**
     * Waits one step, at most {@code remainingNanos}.
     *
     * @param remainingNanos time left before the caller's deadline; positive
     */
    public void idle(long remainingNanos) {
        if (step < SPINS) {
            Thread.onSpinWait();
        } else if (step < SPINS + YIELDS) {
            Thread.yield();
        } else {
            LockSupport.parkNanos(Math.min(park, remainingNanos));
            park = Math.min(MAX_PARK_NANOS, park * 2);
        }
        step++;
    }
}
