package dev.tessera.queue.internal;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * A cross-process wake-up for one direction of a queue (not-empty for consumers, not-full for producers): an
 * event count over two words of the queue's header, with a futex to sleep on. Thread-safe; it does not own the
 * memory, whose segment its caller keeps open for as long as it is used.
 *
 * <p>The protocol (Linux's and folly's event count), with {@code seq} and {@code waiters} in shared memory:
 * <pre>
 *   waiter:    spin on the ring for a while; then
 *              waiters += 1                     (an atomic add, a full fence)
 *              key = seq
 *              re-check the ring                (the caller's next try)
 *              futex_wait(&amp;seq, key, min(deadline, cap)); key = seq; re-check; ...
 *              waiters -= 1                     (when the call ends, however it ends)
 *   signaller: change the ring (publish a message, free a slot)
 *              full fence
 *              if (waiters != 0) { seq += 1; futex_wake(&amp;seq, all) }
 * </pre>
 * The two fences make a lost wake-up impossible: either the signaller sees the waiter counted, or the waiter's
 * re-check sees the change. If the change comes between the waiter's read of {@code seq} and its sleep, the
 * signaller's bump makes {@code futex_wait} return at once ({@code seq} is no longer {@code key}). A signaller
 * that finds no waiter pays a fence and a read of a line that stays in its cache: no syscall on the fast path.
 *
 * <p>Why the cap on a sleep ({@value #DEFAULT_MAX_SLEEP_NANOS} ns by default): a waiter also looks for slots
 * that a killed process holds (at most every 10 ms, in the caller), notices an interrupt or its handle's close,
 * and survives a peer that changed the ring without signalling (a handle with the futex turned off). A waiter
 * killed while counted leaves {@code waiters} too high for good; that costs each later signaller a
 * {@code futex_wake} call that wakes nobody, never a hang or a lost message. Every sleeper is woken, not one: a
 * woken caller that then times out or fails would otherwise swallow a wake-up that another sleeper needed.
 */
public final class EventCount {
    /** The longest a waiter sleeps before it re-checks the ring on its own. */
    public static final long DEFAULT_MAX_SLEEP_NANOS = 10_000_000;
    /** Spins between two clock reads. */
    private static final int CLOCK_EVERY = 32;

    private final MemorySegment region;
    private final long sequenceOffset;
    private final long waitersOffset;
    private final MemorySegment sequenceWord; // null: polling
    private final long maxSleepNanos;

    private EventCount(MemorySegment region, long sequenceOffset, long waitersOffset, boolean futex,
            long maxSleepNanos) {
        if (maxSleepNanos <= 0) {
            throw new IllegalArgumentException("maxSleepNanos=" + maxSleepNanos + " (expected > 0)");
        }
        this.region = region;
        this.sequenceOffset = sequenceOffset;
        this.waitersOffset = waitersOffset;
        this.sequenceWord = futex ? region.asSlice(sequenceOffset, Integer.BYTES) : null;
        this.maxSleepNanos = maxSleepNanos;
    }

    /**
     * What consumers of the queue in {@code region} wait for: a message published.
     *
     * @param futex whether to sleep on the futex ({@link Futex#isAvailable()}); false polls with {@link Backoff}
     * @param maxSleepNanos the longest sleep before a re-check; positive
     */
    public static EventCount notEmpty(MemorySegment region, boolean futex, long maxSleepNanos) {
        return new EventCount(region, QueueDescriptor.NOT_EMPTY_SEQUENCE_OFFSET,
                QueueDescriptor.NOT_EMPTY_WAITERS_OFFSET, futex, maxSleepNanos);
    }

    /** What producers of the queue in {@code region} wait for: a slot freed. As {@link #notEmpty}. */
    public static EventCount notFull(MemorySegment region, boolean futex, long maxSleepNanos) {
        return new EventCount(region, QueueDescriptor.NOT_FULL_SEQUENCE_OFFSET,
                QueueDescriptor.NOT_FULL_WAITERS_OFFSET, futex, maxSleepNanos);
    }

    /** Whether waiters sleep on the futex (else they poll). */
    public boolean usesFutex() {
        return sequenceWord != null;
    }

    /** The waiter count now (a hint: too high after a waiter was killed while counted). */
    public int waiters() {
        return QueueDescriptor.getWaitWordVolatile(region, waitersOffset);
    }

    /** The sequence now; it changes only when a signaller found waiters. */
    public int sequence() {
        return QueueDescriptor.getWaitWordVolatile(region, sequenceOffset);
    }

    /** Call after changing the ring in the waiters' favour: wakes them if any are counted, else costs a fence. */
    public void signal() {
        if (sequenceWord == null) {
            return;
        }
        VarHandle.fullFence(); // the ring's change before the read of the count (the waiter's add is its fence)
        if (QueueDescriptor.getWaitWordVolatile(region, waitersOffset) != 0) {
            wakeAll();
        }
    }

    /** Wakes every sleeper whatever the count says (a handle closing wakes its own waiters). */
    public void wakeAll() {
        if (sequenceWord != null) {
            QueueDescriptor.getAndAddWaitWord(region, sequenceOffset, 1);
            Futex.wake(sequenceWord, Integer.MAX_VALUE);
        }
    }

    /**
     * A wait for one blocked call: spins for {@code spinNanos}, then sleeps on the futex; polls with
     * {@link Backoff} where the futex is off.
     */
    public Waiter newWaiter(long spinNanos) {
        return sequenceWord == null ? new Backoff(spinNanos) : new Sleeper(spinNanos);
    }

    /** Spin, then register and sleep; see the class comment for the order of the steps. */
    private final class Sleeper implements Waiter {
        private final long spinNanos;
        private boolean spinning;
        private int step;
        private long spinStart;
        private boolean registered;
        private int key;

        Sleeper(long spinNanos) {
            if (spinNanos < 0) {
                throw new IllegalArgumentException("spinNanos=" + spinNanos + " (expected >= 0)");
            }
            this.spinNanos = spinNanos;
            this.spinning = spinNanos > 0;
        }

        @Override
        public boolean parking() {
            return !spinning;
        }

        @Override
        public void idle(long remainingNanos) {
            if (spinning) {
                spin();
            } else if (!registered) {
                QueueDescriptor.getAndAddWaitWord(region, waitersOffset, 1);
                registered = true;
                key = sequence(); // the caller re-checks the ring next, then comes back here to sleep
            } else {
                Futex.await(sequenceWord, key, Math.min(remainingNanos, maxSleepNanos));
                key = sequence();
            }
        }

        private void spin() {
            if (step++ % CLOCK_EVERY == 0) {
                long now = System.nanoTime();
                if (step == 1) {
                    spinStart = now;
                } else if (now - spinStart >= spinNanos) {
                    spinning = false;
                    return;
                }
            }
            Thread.onSpinWait();
        }

        @Override
        public void close() {
            if (registered) {
                registered = false;
                QueueDescriptor.getAndAddWaitWord(region, waitersOffset, -1);
            }
        }
    }
}
