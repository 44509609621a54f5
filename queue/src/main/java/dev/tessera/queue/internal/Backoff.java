package dev.tessera.queue.internal;

import java.util.concurrent.locks.LockSupport;

/**
 * How a caller waits for a slot or a message where no cross-process wake-up is available (the futex is off or
 * missing, see {@link Futex}): spin, then yield, then park for growing intervals; never past the caller's
 * deadline. Not thread-safe: one per wait; it holds no memory.
 *
 * <p>Spinning first keeps the hand-off between two running processes in the microseconds; yielding then lets
 * the other process run on a busy machine; parking (from 1 µs doubling to {@link #MAX_PARK_NANOS}) stops an
 * idle waiter from burning a core. Nothing signals a polling waiter, so the park cap is also the worst extra
 * latency an idle waiter adds.
 *
 * <p>The spin and yield phases are bounded by time ({@link #SPIN_NANOS}, {@link #YIELD_NANOS}), not by a count:
 * a spin ({@code Thread.onSpinWait}, x86's {@code PAUSE}) takes from a few to over a hundred cycles depending on
 * the processor. With 2,000 spins (a few µs on this machine's EPYC) a peer that needed 10–20 µs to answer (a 64 MB
 * tensor's stub: map, attach, re-encode, and the caller's own bookkeeping between two messages) found the waiter
 * parked, and Linux's timer slack (50 µs) made the median hand-off 111–116 µs; spinning for 50 µs gave 80 µs, for
 * 200 µs 23–31 µs. The price: a waiter that finds nothing burns up to 200 µs of one core spinning and 50 µs
 * yielding before it parks, once per wait.
 */
public final class Backoff implements Waiter {
    public static final long SPIN_NANOS = 200_000;
    static final long YIELD_NANOS = 50_000;
    static final long MAX_PARK_NANOS = 200_000;
    /** Spins between two clock reads (a read costs about as much as a few spins). */
    private static final int CLOCK_EVERY = 32;
    private final long spinNanos;
    private int step;
    private int phase; // 0 spin, 1 yield, 2 park
    private long phaseStart;
    private long park = 1_000;

    /** A wait that spins for {@link #SPIN_NANOS}. */
    public Backoff() {
        this(SPIN_NANOS);
    }

    /**
     * A wait that spins for {@code spinNanos} (0: none, it starts by yielding).
     *
     * @param spinNanos how long to spin; not negative
     */
    public Backoff(long spinNanos) {
        if (spinNanos < 0) {
            throw new IllegalArgumentException("spinNanos=" + spinNanos + " (expected >= 0)");
        }
        this.spinNanos = spinNanos;
        this.phase = spinNanos == 0 ? 1 : 0;
    }

    /** Whether this wait has gone past spinning and yielding (time for slow-path checks). */
    @Override
    public boolean parking() {
        return phase == 2;
    }

    /**
     * Waits one step, at most {@code remainingNanos}.
     *
     * @param remainingNanos time left before the caller's deadline; positive
     */
    @Override
    public void idle(long remainingNanos) {
        if (phase < 2 && step++ % CLOCK_EVERY == 0) {
            long now = System.nanoTime();
            if (step == 1) {
                phaseStart = now;
            } else if (now - phaseStart >= (phase == 0 ? spinNanos : YIELD_NANOS)) {
                phase++;
                phaseStart = now;
            }
        }
        if (phase == 0) {
            Thread.onSpinWait();
        } else if (phase == 1) {
            Thread.yield();
        } else {
            LockSupport.parkNanos(Math.min(park, remainingNanos));
            park = Math.min(MAX_PARK_NANOS, park * 2);
        }
    }

    /** Nothing to release: a polling wait registers nowhere. */
    @Override
    public void close() {}
}
