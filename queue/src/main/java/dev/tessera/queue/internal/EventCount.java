package dev.tessera.queue.internal;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * A cross-process wake-up for one direction of a queue (not-empty for consumers, not-full for producers): an
 * event count over one word of the queue's header, with a futex to sleep on. Thread-safe; it does not own the
 * memory, whose segment its caller keeps open for as long as it is used.
 *
 * <p>The protocol (an event count like folly's and Linux's), with the word {@code epoch:count} in shared
 * memory ({@code epoch} the high int, the futex word; {@code count} the callers registered in that epoch):
 * <pre>
 *   waiter:    spin on the ring for a while; then
 *              key = epoch of (word += 1)       (register: an atomic add, a full fence)
 *              re-check the ring                (the caller's next try)
 *              futex_wait(&amp;epoch, key, min(deadline, cap))
 *              if the epoch moved: registered no more, so register again before the next sleep; re-check; ...
 *              word -= 1 if still in epoch key  (when the call ends, however it ends)
 *   signaller: change the ring (publish a message, free a slot)
 *              full fence
 *              if (count != 0) { word = (epoch + 1):0; futex_wake(&amp;epoch, all) }
 * </pre>
 * The two fences make a lost wake-up impossible: either the signaller sees the waiter counted, or the waiter's
 * re-check sees the change. A registration and the epoch it belongs to are one atomic add, so a signaller's reset
 * of the count can only drop registrations of the epoch it ends, whose sleepers it wakes (or whose
 * {@code futex_wait} returns at once, the epoch no longer being their key). A signaller that finds nobody counted
 * pays a fence and a read of a line that stays in its cache: no syscall on the fast path. Resetting the count makes
 * the syscall once per batch of sleepers, not once per message until each woken sleeper has run again: on a
 * busy machine a woken consumer can wait milliseconds for a core, while its producer puts thousands of messages.
 *
 * <p>Why the cap on a sleep ({@value #DEFAULT_MAX_SLEEP_NANOS} ns by default): a waiter also looks for slots
 * that a killed process holds (at most every 10 ms, in the caller), notices an interrupt, and survives a peer
 * that changed the ring without signalling (a handle with the futex turned off). A waiter killed while counted
 * leaves the count too high until the next signal, which then makes one {@code futex_wake} call for nobody: never
 * a hang or a lost message. Every sleeper is woken, not one: a woken caller that then times out or fails would
 * otherwise swallow a wake-up that another sleeper needed.
 */
public final class EventCount {
    /** How long a waiter spins before it sleeps, unless its queue's handle says otherwise. */
    public static final long DEFAULT_SPIN_NANOS = 50_000;
    /** The longest a waiter sleeps before it re-checks the ring on its own. */
    public static final long DEFAULT_MAX_SLEEP_NANOS = 10_000_000;
    /** Spins between two clock reads. */
    private static final int CLOCK_EVERY = 32;

    private final MemorySegment region;
    private final long offset;
    private final MemorySegment epochWord; // null: polling
    private final long maxSleepNanos;

    private EventCount(MemorySegment region, long offset, boolean futex, long maxSleepNanos) {
        if (maxSleepNanos <= 0) {
            throw new IllegalArgumentException("maxSleepNanos=" + maxSleepNanos + " (expected > 0)");
        }
        this.region = region;
        this.offset = offset;
        this.epochWord = futex ? region.asSlice(offset + QueueDescriptor.WAIT_EPOCH_OFFSET, Integer.BYTES) : null;
        this.maxSleepNanos = maxSleepNanos;
    }

    /**
     * What consumers of the queue in {@code region} wait for: a message published.
     *
     * @param futex whether to sleep on the futex ({@link Futex#isAvailable()}); false polls with {@link Backoff}
     * @param maxSleepNanos the longest sleep before a re-check; positive
     */
    public static EventCount notEmpty(MemorySegment region, boolean futex, long maxSleepNanos) {
        return new EventCount(region, QueueDescriptor.NOT_EMPTY_WAIT_OFFSET, futex, maxSleepNanos);
    }

    /** What producers of the queue in {@code region} wait for: a slot freed. As {@link #notEmpty}. */
    public static EventCount notFull(MemorySegment region, boolean futex, long maxSleepNanos) {
        return new EventCount(region, QueueDescriptor.NOT_FULL_WAIT_OFFSET, futex, maxSleepNanos);
    }

    /** Whether waiters sleep on the futex (else they poll). */
    public boolean usesFutex() {
        return epochWord != null;
    }

    /** The callers registered to sleep now (a hint: too high after a waiter was killed, until the next signal). */
    public int waiters() {
        return QueueDescriptor.waitCount(word());
    }

    /** The epoch now; it moves only when a signaller found waiters counted, or a handle closed. */
    public int epoch() {
        return QueueDescriptor.waitEpoch(word());
    }

    private long word() {
        return QueueDescriptor.getWaitWordVolatile(region, offset);
    }

    /** Call after changing the ring in the waiters' favour: wakes them if any are counted, else costs a fence. */
    public void signal() {
        if (epochWord == null) {
            return;
        }
        VarHandle.fullFence(); // the ring's change before the read of the count (the waiter's add is its fence)
        long w = word();
        while (QueueDescriptor.waitCount(w) != 0) {
            if (QueueDescriptor.casWaitWord(region, offset, w, QueueDescriptor.nextWaitEpoch(w))) {
                Futex.wake(epochWord, Integer.MAX_VALUE);
                return;
            }
            w = word(); // another signaller or a new waiter: whoever resets the count makes the wake-up call
        }
    }

    /** Moves to the next epoch and wakes every sleeper whatever the count says (a handle closing wakes its own). */
    public void wakeAll() {
        if (epochWord == null) {
            return;
        }
        long w;
        do {
            w = word();
        } while (!QueueDescriptor.casWaitWord(region, offset, w, QueueDescriptor.nextWaitEpoch(w)));
        Futex.wake(epochWord, Integer.MAX_VALUE);
    }

    /**
     * A wait for one blocked call: spins for {@code spinNanos}, then sleeps on the futex; polls with
     * {@link Backoff} where the futex is off.
     */
    public Waiter newWaiter(long spinNanos) {
        return epochWord == null ? new Backoff(spinNanos) : new Sleeper(spinNanos);
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
                key = QueueDescriptor.waitEpoch(QueueDescriptor.getAndAddWaitWord(region, offset, 1));
                registered = true; // the caller re-checks the ring next, then comes back here to sleep
            } else {
                Futex.await(epochWord, key, Math.min(remainingNanos, maxSleepNanos));
                registered = epoch() == key; // a new epoch dropped this registration: re-register to sleep again
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

        /** Leaves the count, unless a signal already reset it (a new epoch). */
        @Override
        public void close() {
            if (!registered) {
                return;
            }
            registered = false;
            long w = word();
            while (QueueDescriptor.waitEpoch(w) == key && QueueDescriptor.waitCount(w) > 0
                    && !QueueDescriptor.casWaitWord(region, offset, w, w - 1)) {
                w = word();
            }
        }
    }
}
