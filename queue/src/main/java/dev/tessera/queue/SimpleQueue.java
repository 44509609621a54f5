package dev.tessera.queue;

import ai.djl.ndarray.NDManager;
import dev.tessera.queue.internal.Backoff;
import dev.tessera.queue.internal.EventCount;
import dev.tessera.queue.internal.Futex;
import dev.tessera.queue.internal.QueueDescriptor;
import dev.tessera.queue.internal.ScalarFormat;
import dev.tessera.queue.internal.SlotChannel;
import dev.tessera.queue.internal.SlotRing;
import dev.tessera.queue.internal.Waiter;
import dev.tessera.sharedmem.SharedSegment;
import dev.tessera.sharedmem.TensorCodec;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A bounded queue of objects between the JVMs of one host (machin's {@code SimpleQueue}): thread-safe, many
 * producers and many consumers in any number of processes; the caller owns this handle and must
 * {@link #close()} it, and the queue's memory (one shared-memory segment) lives until the last handle on it,
 * in any process, is closed, or until the reaper finds every process that held it dead.
 *
 * <p>Create a queue with {@link #builder()}{@code .create()} (or {@link #create(int)}), hand its
 * {@link #name()} to other processes, and {@link #open(String)} it there. Or choose the name yourself
 * ({@link #create(String, int)}, {@link Builder#optName}), and any process of this user on the host opens it by
 * that name ({@code SimpleQueue.open("jobs")}), as machin's queues are found by name; creating a second queue of a
 * name that is in use fails with an {@link IllegalStateException} that says so. A named queue lives while a
 * handle on it is open in any process, like any queue. {@link #put} blocks while the queue is
 * full, {@link #offer(Object)} returns false instead, {@link #get()} blocks while it is empty, {@link #poll()}
 * returns null instead. A blocked call spins ({@link Builder#optSpinWait}, 50 µs by default), then sleeps on a
 * Linux futex in the queue's memory until the producer or consumer it waits for wakes it ({@link #waitMode()}); a
 * {@code put} or {@code get} that finds nobody waiting makes no system call. Where the futex is unavailable or
 * turned off ({@code -Dtessera.queue.futex=false}) it polls: spins 200 µs, yields, then parks for at most 200 µs
 * at a time. A sleeper looks at the queue on its own every 10 ms (crash recovery, interrupts, peers that poll).
 *
 * <p>Boxed {@code Integer}, {@code Long} and {@code Double} values, strings and {@code byte[]} take a compact
 * encoding of a tag byte and their bytes (Java serialization would cost several microseconds each); everything
 * else is encoded with {@link TensorCodec}: an {@code NDArray} or {@code INDArray} in the object graph travels
 * inside the message if it has at most {@link Builder#optMaxNbytes maxNbytes} bytes (joblib's {@code max_nbytes};
 * by default 1 MiB or half a slot, whichever is less) and as a shared-memory stub otherwise; a
 * {@code SharedTensor} always as a stub. {@link Builder#optCopyTensors}{@code (true)} forces copies inside the
 * message, {@code (false)} stubs. Classes beyond the codec's safe defaults must be
 * allowed with {@link Builder#optAllowPatterns}. A message must fit one slot ({@link Builder#optMaxMessageBytes}).
 *
 * <p>Crashes: a producer or consumer killed with {@code kill -9} loses nothing that {@code put} already
 * returned for, and leaves no slot locked. A slot claimed by a dead producer (a half-written message, for which
 * {@code put} never returned) is skipped; a message claimed by a consumer that died inside {@code get} is
 * handed to another consumer. That is the one case of a message delivered twice: if the consumer died after
 * copying the message out but before releasing its slot, both it and another consumer received it. Recovery
 * runs on the slow path of waiting callers, at most every {@value #RECOVERY_INTERVAL_MILLIS} ms per handle.
 *
 * <p>Order: messages from one producer thread are delivered in the order they were put, except a returned
 * message (above), which comes later. A message whose decoding fails ({@code MalformedMessageException}, for
 * example a class the allow-list refuses) is consumed: the exception reaches the consumer that took it.
 */
public final class SimpleQueue implements AutoCloseable {
    /** Default of {@link Builder#optCapacity}. */
    public static final int DEFAULT_CAPACITY = 1024;
    /** Default of {@link Builder#optMaxMessageBytes}: a slot of 4 KiB with its 16-byte header. */
    public static final int DEFAULT_MAX_MESSAGE_BYTES = 4096 - QueueDescriptor.SLOT_HEADER_BYTES;
    /** How often a waiting handle looks for slots held by dead processes. */
    static final long RECOVERY_INTERVAL_MILLIS = 10;
    private static final long CLOSE_WAIT_NANOS = 5_000_000_000L;

    private final SharedSegment segment;
    private final SlotRing ring;
    private final TensorCodec codec;
    private final NDManager manager;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicLong nextRecovery = new AtomicLong(System.nanoTime());
    private final long spinNanos;
    private final EventCount notEmpty;
    private final EventCount notFull;

    private SimpleQueue(SharedSegment segment, SlotRing ring, TensorCodec codec, NDManager manager, long spinNanos,
            long maxSleepNanos) {
        this.segment = segment;
        this.ring = ring;
        this.codec = codec;
        this.manager = manager;
        this.spinNanos = spinNanos;
        boolean futex = Futex.isAvailable();
        this.notEmpty = EventCount.notEmpty(segment.data(), futex, maxSleepNanos);
        this.notFull = EventCount.notFull(segment.data(), futex, maxSleepNanos);
    }

    /** How a blocked {@code put} or {@code get} waits, after spinning for {@link Builder#optSpinWait}. */
    public enum WaitMode {
        /** It sleeps on a Linux futex in the queue's memory, and the producer or consumer it waits for wakes it. */
        FUTEX,
        /**
         * It yields, then parks for 1 µs doubling to 200 µs, and notices a change at its next look: where the futex
         * is unavailable (not Linux on x86-64 or AArch64, native access denied) or turned off with
         * {@code -Dtessera.queue.futex=false}.
         */
        BACKOFF
    }

    /**
     * How this handle's blocked calls wait; the same for every handle of this JVM.
     *
     * @return {@link WaitMode#FUTEX} where the futex is available and not turned off, else {@link WaitMode#BACKOFF}
     */
    public WaitMode waitMode() {
        return notEmpty.usesFutex() ? WaitMode.FUTEX : WaitMode.BACKOFF;
    }

    /** The consumers' wake-up (tests inspect and inflate its waiter count). */
    EventCount notEmpty() {
        return notEmpty;
    }

    /** The producers' wake-up. */
    EventCount notFull() {
        return notFull;
    }

    /**
     * A builder for creating or opening a queue; every option has a default.
     *
     * @return a new builder, not thread-safe
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Creates a queue of {@code capacity} messages with the default options (stubs for tensors, messages of up
     * to {@value #DEFAULT_MAX_MESSAGE_BYTES} bytes, the default segment directory).
     *
     * @param capacity how many messages the queue holds before {@code put} blocks
     * @return a new handle the caller owns and must close
     * @throws IllegalArgumentException if {@code capacity} is out of range
     */
    public static SimpleQueue create(int capacity) {
        return builder().optCapacity(capacity).create();
    }

    /**
     * Creates a queue of {@code capacity} messages under a name of the caller's choosing, with the default
     * options; any process of this user opens it with {@link #open(String) open(name)}.
     *
     * @param name 1 to 32 characters of {@code A-Z a-z 0-9 . _ -}, starting with a letter or digit, not
     *     with {@code tessera-}
     * @param capacity how many messages the queue holds before {@code put} blocks
     * @return a new handle the caller owns and must close
     * @throws IllegalArgumentException if {@code name} or {@code capacity} is invalid
     * @throws IllegalStateException if a queue (or other segment) of that name exists
     */
    public static SimpleQueue create(String name, int capacity) {
        return builder().optName(name).optCapacity(capacity).create();
    }

    /**
     * Opens a queue that another handle (in any process of this user) created, with the default options.
     *
     * @param name the {@link #name()} of the queue: the name it was created with, or its random name
     * @return a new handle the caller owns and must close
     * @throws IllegalArgumentException if {@code name} is not a queue name
     * @throws IllegalStateException if no such queue exists (every handle on it was closed) or it is not a queue
     */
    public static SimpleQueue open(String name) {
        return builder().open(name);
    }

    /**
     * The queue's name, which {@link #open(String)} takes in another process: the one it was created with, or a
     * random one; its segment is listed under it by {@code tessera shm ls}.
     *
     * @return the name given to {@link Builder#optName}, or {@code tessera-} and 32 hex digits
     */
    public String name() {
        return segment.name();
    }

    /**
     * How many messages the queue holds at most.
     *
     * @return the capacity fixed at creation
     */
    public int capacity() {
        return ring.capacity();
    }

    /**
     * The largest encoded message a slot holds.
     *
     * @return the limit in bytes fixed at creation
     */
    public int maxMessageBytes() {
        return ring.maxMessageBytes();
    }

    /**
     * How many messages are in the queue now (being written or published, not yet taken); a snapshot that
     * concurrent producers and consumers may change at once.
     *
     * @return a number between 0 and {@link #capacity()}
     * @throws IllegalStateException if this handle is closed
     */
    public int size() {
        enter();
        try {
            return ring.size();
        } finally {
            exit();
        }
    }

    /**
     * Puts {@code message}, waiting as long as the queue is full.
     *
     * @param message the object graph, not null; see the class comment for tensors and allowed classes
     * @throws IllegalArgumentException if the encoded message exceeds {@link #maxMessageBytes()}, or the graph
     *     cannot be serialized
     * @throws IllegalStateException if this handle is closed, also while waiting
     * @throws CancellationException if the thread is interrupted while waiting (the interrupt flag stays set)
     */
    public void put(Object message) {
        offer(message, Long.MAX_VALUE);
    }

    /**
     * Puts {@code message} if the queue has room now.
     *
     * @param message the object graph, not null
     * @return true if it was put, false if the queue was full (nothing was encoded then)
     * @throws IllegalArgumentException as {@link #put}
     * @throws IllegalStateException if this handle is closed
     */
    public boolean offer(Object message) {
        return offer(message, 0);
    }

    /**
     * Puts {@code message}, waiting at most {@code timeout} for room.
     *
     * @param message the object graph, not null
     * @param timeout the longest wait for a free slot; zero or negative does not wait
     * @return true if it was put, false if the queue stayed full (nothing was encoded then)
     * @throws IllegalArgumentException as {@link #put}
     * @throws IllegalStateException if this handle is closed, also while waiting
     * @throws CancellationException if the thread is interrupted while waiting
     */
    public boolean offer(Object message, Duration timeout) {
        return offer(message, nanos(timeout));
    }

    private boolean offer(Object message, long timeoutNanos) {
        Objects.requireNonNull(message, "message (a queue cannot carry null: poll() returns null when empty)");
        enter();
        try {
            long position = ring.tryClaimWrite(); // room now: no clock read, no wait state
            if (position < 0) {
                position = claimWrite(timeoutNanos);
            }
            if (position < 0) {
                return false;
            }
            write(position, message);
            return true;
        } finally {
            exit();
        }
    }

    private long claimWrite(long timeoutNanos) {
        long start = System.nanoTime();
        try (Waiter waiter = notFull.newWaiter(spinNanos)) {
            while (true) {
                long position = ring.tryClaimWrite();
                if (position >= 0) {
                    return position;
                }
                long remaining = remaining(start, timeoutNanos);
                if (remaining <= 0) {
                    return -1;
                }
                waitStep(waiter, remaining);
                if (waiter.parking() && recoveryDue()) {
                    recoverStalled();
                }
            }
        }
    }

    /** Encodes straight into the claimed slot; on any failure the slot is given up, so consumers skip it. */
    private void write(long position, Object message) {
        if (ScalarFormat.handles(message)) {
            writeScalar(position, message);
            return;
        }
        SlotChannel channel = new SlotChannel(ring.payload(position));
        try {
            codec.encode(message, channel);
        } catch (UncheckedIOException e) {
            abandon(position);
            if (e.getCause() instanceof SlotChannel.TooLargeException big) {
                throw tooLarge(big.size(), e);
            }
            throw e;
        } catch (RuntimeException | Error e) {
            abandon(position);
            throw e;
        }
        publish(position, channel.written());
    }

    private void writeScalar(long position, Object message) {
        int length;
        try {
            length = ScalarFormat.write(message, ring.payload(position));
        } catch (RuntimeException | Error e) {
            abandon(position);
            throw e;
        }
        if (length < 0) {
            abandon(position);
            throw tooLarge(ScalarFormat.exactSize(message), null);
        }
        publish(position, length);
    }

    private void publish(long position, int length) {
        ring.publish(position, length);
        notEmpty.signal();
    }

    /** A given-up slot lets the head pass: a consumer asleep at it may find the next message. */
    private void abandon(long position) {
        ring.abandon(position);
        notEmpty.signal();
    }

    private IllegalArgumentException tooLarge(long size, Throwable cause) {
        return new IllegalArgumentException("message of " + size + " bytes exceeds maxMessageBytes="
                + maxMessageBytes() + " of queue " + name() + "; create the queue with a larger "
                + "optMaxMessageBytes, or send tensors as stubs (a lower optMaxNbytes, or optCopyTensors(false))",
                cause);
    }

    /**
     * Takes the next message, waiting as long as the queue is empty.
     *
     * @return the decoded message; NDArrays in it are attached to the {@link Builder#optManager} manager
     * @throws IllegalStateException if this handle is closed, also while waiting
     * @throws CancellationException if the thread is interrupted while waiting (the interrupt flag stays set)
     * @throws dev.tessera.sharedmem.MalformedMessageException if the message cannot be decoded (it is consumed)
     */
    public Object get() {
        return take(Long.MAX_VALUE, null);
    }

    /**
     * Takes the next message, waiting at most {@code timeout}.
     *
     * @param timeout the longest wait; zero or negative does not wait
     * @return the decoded message, as {@link #get()}
     * @throws QueueTimeoutException if no message arrived in time
     * @throws IllegalStateException if this handle is closed, also while waiting
     * @throws CancellationException if the thread is interrupted while waiting
     */
    public Object get(Duration timeout) {
        return take(nanos(timeout), timeout);
    }

    /**
     * Takes the next message if one is there now.
     *
     * @return the decoded message, or null if the queue is empty
     * @throws IllegalStateException if this handle is closed
     */
    public Object poll() {
        enter();
        try {
            Object taken = tryPoll();
            if (taken == null && recoveryDue()) {
                taken = recoverOne();
            }
            return taken == null ? null : decode(taken);
        } finally {
            exit();
        }
    }

    private Object take(long timeoutNanos, Duration timeout) {
        enter();
        try {
            Object taken = tryPoll(); // a message waiting: no clock read, no wait state
            return taken != null ? decode(taken) : decode(awaitMessage(timeoutNanos, timeout));
        } finally {
            exit();
        }
    }

    private Object awaitMessage(long timeoutNanos, Duration timeout) {
        long start = System.nanoTime();
        try (Waiter waiter = notEmpty.newWaiter(spinNanos)) {
            while (true) {
                Object taken = tryPoll();
                if (taken == null && waiter.parking() && recoveryDue()) {
                    taken = recoverOne();
                }
                if (taken != null) {
                    return taken;
                }
                long remaining = remaining(start, timeoutNanos);
                if (remaining <= 0) {
                    throw new QueueTimeoutException(name(), timeout);
                }
                waitStep(waiter, remaining);
            }
        }
    }

    /** Takes the message at the head, if any, and wakes producers waiting for the slot it frees. */
    private Object tryPoll() {
        Object taken = ring.tryPoll(READER);
        if (taken != null) {
            notFull.signal();
        }
        return taken;
    }

    private Object recoverOne() {
        recoverStalled();
        Object taken = tryPoll();
        if (taken == null) {
            taken = ring.pollOrphan(READER);
            if (taken != null) {
                notFull.signal();
            }
        }
        return taken;
    }

    /** A dead process's slot taken back may unblock either side. */
    private void recoverStalled() {
        if (ring.recoverStalled()) {
            notEmpty.signal();
            notFull.signal();
        }
    }

    /**
     * Reads a message out of its slot: a compact value is decoded in place (no copy of the message first), a
     * codec message is copied out to be decoded after the slot is freed, since decoding may open segments.
     */
    private static final SlotRing.Reader<Object> READER = (region, offset, length) -> {
        Object scalar = ScalarFormat.readIfScalar(region, offset, length);
        return scalar != null ? scalar : new Encoded(SlotRing.BYTES.read(region, offset, length));
    };

    /** The bytes of a codec message taken from a slot. */
    private record Encoded(byte[] bytes) {}

    private Object decode(Object taken) {
        return taken instanceof Encoded e ? codec.decode(e.bytes(), manager) : taken;
    }

    private void waitStep(Waiter waiter, long remaining) {
        if (closed.get()) {
            throw closedError();
        }
        if (Thread.currentThread().isInterrupted()) {
            throw new CancellationException("interrupted while waiting on queue " + name());
        }
        waiter.idle(remaining);
    }

    /** Whether this handle should look for dead claims now; true for one caller per interval. */
    private boolean recoveryDue() {
        long now = System.nanoTime();
        long due = nextRecovery.get();
        return now - due >= 0 && nextRecovery.compareAndSet(due, now + RECOVERY_INTERVAL_MILLIS * 1_000_000);
    }

    private static long remaining(long start, long timeoutNanos) {
        return timeoutNanos == Long.MAX_VALUE ? Long.MAX_VALUE : timeoutNanos - (System.nanoTime() - start);
    }

    private static long nanos(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        return timeout.isNegative() ? 0 : saturatedNanos(timeout);
    }

    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    private void enter() {
        active.incrementAndGet();
        if (closed.get()) {
            active.decrementAndGet();
            throw closedError();
        }
    }

    private void exit() {
        active.decrementAndGet();
    }

    private IllegalStateException closedError() {
        return new IllegalStateException("queue " + segment.name() + " is closed in this handle; open it again "
                + "with SimpleQueue.open(name) if this process still needs it");
    }

    /**
     * Whether {@link #close()} has not been called yet.
     *
     * @return true until this handle is closed
     */
    public boolean isOpen() {
        return !closed.get();
    }

    /**
     * Closes this handle: operations waiting in other threads fail with {@link IllegalStateException}, this
     * process leaves the queue's process table, and the segment reference is released (the last one, in any
     * process, removes the queue with any messages still in it). Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        long start = System.nanoTime();
        while (active.get() > 0 && System.nanoTime() - start < CLOSE_WAIT_NANOS) {
            // again each time: a caller that checked the flag just before it was set may have gone to sleep since
            wakeWaiters();
            LockSupport.parkNanos(100_000); // waiters see the flag within one backoff step or wake-up
        }
        try {
            if (active.get() == 0) {
                ring.leave(); // with an operation still running, the slot stays taken until this process exits
            }
        } finally {
            segment.close();
        }
    }

    /** Wakes every sleeper on the queue: this handle's see the closed flag at once, the others sleep again. */
    private void wakeWaiters() {
        notEmpty.wakeAll();
        notFull.wakeAll();
    }

    @Override
    public String toString() {
        return "SimpleQueue[" + segment.name() + ", capacity " + capacity() + ", " + waitMode() + ", "
                + (isOpen() ? "open" : "closed") + "]";
    }

    /**
     * Options for {@link SimpleQueue#builder()}: shape options for {@link #create()}, codec options for both
     * {@link #create()} and {@link #open(String)}. Not thread-safe; the queues it makes do not own the
     * {@link NDManager} given to it.
     */
    public static final class Builder {
        private Integer capacity;
        private Integer maxMessageBytes;
        private Boolean copyTensors;
        private Long maxNbytes;
        private final List<String> allowPatterns = new ArrayList<>();
        private NDManager manager;
        private Path directory;
        private String name;
        private Long spinNanos; // null: the default of the wait mode
        private long maxSleepNanos = EventCount.DEFAULT_MAX_SLEEP_NANOS;

        private Builder() {}

        /**
         * How long a blocked {@code put} or {@code get} of this handle spins before it sleeps until the peer that it
         * waits for wakes it (the futex, {@link WaitMode#FUTEX}); default 50 µs, and 200 µs where it polls instead
         * ({@link WaitMode#BACKOFF}: spin, yield, park for growing intervals). Spinning catches an answer that comes
         * within the spin at no more than a cache miss, where a sleep costs a futex wake-up (about 8 µs between two
         * JVMs on the development machine); it costs up to that much of one core per wait, and on a machine with
         * fewer free cores than spinners it delays the very peer it waits for: there a 64 MB tensor's stub hand-off
         * took 230–270 µs with 200 µs spins and 55–90 µs with 0–50 µs spins (load average 7–12 on 2 cores).
         * Longer spins suit ping-pongs of small messages between busy processes (0.38 µs with 200 µs spins, 8 µs
         * without, 17–62 µs with 20–50 µs spins at that load); {@code Duration.ZERO} never spins: for consumers
         * that wait long and often on a busy machine.
         *
         * @param spinWait from zero to 10 ms
         * @return this builder
         */
        public Builder optSpinWait(Duration spinWait) {
            Objects.requireNonNull(spinWait, "spinWait");
            if (spinWait.isNegative() || spinWait.compareTo(Duration.ofMillis(10)) > 0) {
                throw new IllegalArgumentException("spinWait=" + spinWait + " (expected from 0 to 10 ms)");
            }
            this.spinNanos = spinWait.toNanos();
            return this;
        }

        /**
         * The longest a blocked call of this handle sleeps on the futex before it looks at the queue on its own
         * (default 10 ms). Tests set it long, so that only a peer's wake-up can end a sleep in time.
         */
        Builder maxSleep(Duration maxSleep) {
            if (maxSleep.isNegative() || maxSleep.isZero()) {
                throw new IllegalArgumentException("maxSleep=" + maxSleep + " (expected > 0)");
            }
            this.maxSleepNanos = saturatedNanos(maxSleep);
            return this;
        }

        /**
         * A name of the caller's choosing for {@link #create()}, by which any process of this user opens the queue;
         * default none (a random name, see {@link SimpleQueue#name()}). Names are per user and per segment
         * directory; the queue's file is {@code tessera-named-UID-NAME}.
         *
         * @param name 1 to 32 characters of {@code A-Z a-z 0-9 . _ -}, starting with a letter or digit, not
         *     with {@code tessera-}
         * @return this builder
         * @throws IllegalArgumentException if {@code name} breaks that rule; the message names it
         */
        public Builder optName(String name) {
            SharedSegment.builder().optName(name); // validates it with the segment layer's own rule
            this.name = name;
            return this;
        }

        /**
         * How many messages the queue holds before {@code put} blocks; default {@value #DEFAULT_CAPACITY}. For
         * {@link #open(String)}, if set, it must match the queue's.
         *
         * @param capacity the number of slots
         * @return this builder
         * @throws IllegalArgumentException if {@code capacity} is not in {@code [1, 2^24]}
         */
        public Builder optCapacity(int capacity) {
            if (capacity < 1 || capacity > QueueDescriptor.MAX_CAPACITY) {
                throw new IllegalArgumentException("capacity=" + capacity + " (expected 1 <= x <= "
                        + QueueDescriptor.MAX_CAPACITY + ")");
            }
            this.capacity = capacity;
            return this;
        }

        /**
         * The largest encoded message, in bytes; default {@value #DEFAULT_MAX_MESSAGE_BYTES}. Every slot
         * reserves this much shared memory, so the queue takes about {@code capacity * (maxMessageBytes + 16)}
         * bytes. Tensors sent as stubs cost about 200 bytes each whatever their size; copied tensors cost their
         * bytes. For {@link #open(String)}, if set, it must match the queue's.
         *
         * @param bytes the limit
         * @return this builder
         * @throws IllegalArgumentException if {@code bytes} is not in {@code [1, 64 MiB]}
         */
        public Builder optMaxMessageBytes(int bytes) {
            if (bytes < 1 || bytes > QueueDescriptor.MAX_MESSAGE_BYTES_LIMIT) {
                throw new IllegalArgumentException("maxMessageBytes=" + bytes + " (expected 1 <= x <= "
                        + QueueDescriptor.MAX_MESSAGE_BYTES_LIMIT + ")");
            }
            this.maxMessageBytes = bytes;
            return this;
        }

        /**
         * Forces one way for every tensor this handle's {@code put} sends, machin's {@code copy_tensor}: true
         * copies tensor bytes into the message, false sends shared-memory stubs. Default: neither, tensors
         * travel by size ({@link #optMaxNbytes}); setting both options fails {@code create} and {@code open}.
         * Each handle chooses for the messages it puts; any handle decodes every kind.
         *
         * @param copyTensors true to copy tensor bytes into the message, false to send stubs
         * @return this builder
         */
        public Builder optCopyTensors(boolean copyTensors) {
            this.copyTensors = copyTensors;
            return this;
        }

        /**
         * joblib's {@code max_nbytes}: an {@code NDArray} or {@code INDArray} of at most {@code bytes} bytes that
         * this handle puts travels inside the message, a larger one as a shared-memory stub (one segment each);
         * a {@code SharedTensor} always as a stub. Default: {@link TensorCodec#DEFAULT_MAX_NBYTES} (1 MiB) or half
         * the queue's {@code maxMessageBytes}, whichever is less, so that an inline tensor leaves room in its
         * slot for the rest of the message. 0 sends every non-empty array by stub. A value above the slot size
         * makes {@code put} of such a tensor fail as too large.
         *
         * @param bytes the largest array sent inline, in bytes
         * @return this builder
         * @throws IllegalArgumentException if {@code bytes} is negative
         */
        public Builder optMaxNbytes(long bytes) {
            this.maxNbytes = TensorCodec.Builder.checkMaxNbytes(bytes);
            return this;
        }

        /**
         * Class-name patterns this handle's {@code get} accepts beyond the codec's safe defaults, with
         * {@link TensorCodec.Builder#optAllowPatterns}'s syntax and rules ({@code com.example.Task},
         * {@code com.example.*}, {@code com.example.**}); default none.
         *
         * @param patterns the patterns; added to those of earlier calls
         * @return this builder
         * @throws IllegalArgumentException if a pattern is malformed
         */
        public Builder optAllowPatterns(String... patterns) {
            TensorCodec.builder().optAllowPatterns(patterns); // validates them with the codec's own rules
            allowPatterns.addAll(List.of(patterns));
            return this;
        }

        /**
         * The manager that NDArrays in received messages are attached to; default none, and then a message
         * holding NDArrays fails to decode with an {@link IllegalArgumentException} that says so.
         *
         * @param manager the manager; the caller keeps owning it
         * @return this builder
         */
        public Builder optManager(NDManager manager) {
            this.manager = Objects.requireNonNull(manager, "manager");
            return this;
        }

        /**
         * The segment directory; default {@link SharedSegment#defaultDirectory()}.
         *
         * @param directory the directory
         * @return this builder
         */
        public Builder optDirectory(Path directory) {
            this.directory = Objects.requireNonNull(directory, "directory").toAbsolutePath().normalize();
            return this;
        }

        /**
         * Creates a new queue in a new shared-memory segment, named {@link #optName} if that was set.
         *
         * @return a new handle the caller owns and must close
         * @throws dev.tessera.sharedmem.SegmentSpaceException if the segment does not fit the directory
         * @throws IllegalStateException if a segment of the {@link #optName} name exists
         */
        public SimpleQueue create() {
            int cap = capacity != null ? capacity : DEFAULT_CAPACITY;
            int max = maxMessageBytes != null ? maxMessageBytes : DEFAULT_MAX_MESSAGE_BYTES;
            QueueDescriptor.checkCapacity(cap, max);
            TensorCodec codec = codec(max);
            SharedSegment.Builder b = SharedSegment.builder().setSize(QueueDescriptor.regionBytes(cap, max));
            if (directory != null) {
                b.optDirectory(directory);
            }
            if (name != null) {
                b.optName(name);
            }
            SharedSegment segment = b.build();
            try {
                MemorySegment region = segment.data();
                QueueDescriptor.initialise(region, cap, max);
                return new SimpleQueue(segment, SlotRing.join(region, segment.name()), codec, manager, spinNanos(),
                        maxSleepNanos);
            } catch (RuntimeException | Error e) {
                segment.close();
                throw e;
            }
        }

        /**
         * Opens the queue called {@code name}, which a handle in this or another process created.
         *
         * @param name the queue's {@link SimpleQueue#name()}
         * @return a new handle the caller owns and must close
         * @throws IllegalArgumentException if {@code name} is not a queue name, or a capacity or message size set
         *     on this builder differs from the queue's
         * @throws IllegalStateException if the queue no longer exists or the segment is not a queue
         */
        public SimpleQueue open(String name) {
            Path dir = directory != null ? directory : SharedSegment.defaultDirectory();
            SharedSegment segment;
            try {
                segment = SharedSegment.open(dir, name);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("queue name: " + e.getMessage(), e);
            } catch (UncheckedIOException e) {
                throw new IllegalStateException("queue " + name + " does not exist in " + dir + ": every handle on "
                        + "it was closed, or its processes died (" + e.getMessage() + ")", e);
            }
            try {
                MemorySegment region = checkQueue(segment);
                TensorCodec codec = codec(QueueDescriptor.getMaxMessageBytes(region));
                return new SimpleQueue(segment, SlotRing.join(region, name), codec, manager, spinNanos(),
                        maxSleepNanos);
            } catch (RuntimeException | Error e) {
                segment.close();
                throw e;
            }
        }

        private MemorySegment checkQueue(SharedSegment segment) {
            MemorySegment region = segment.data();
            int version = region.byteSize() < QueueDescriptor.SLOTS_OFFSET ? 0
                    : QueueDescriptor.getLayoutVersionAcquire(region); // acquire first: the creator writes it last
            if (version == 0 || QueueDescriptor.getMagic(region) != QueueDescriptor.MAGIC) {
                throw new IllegalStateException("segment " + segment.path() + " is not a queue; open it with the API "
                        + "that created it");
            }
            if (version != QueueDescriptor.LAYOUT_VERSION) {
                throw new IllegalStateException("queue " + segment.name() + " has layout version " + version + " but "
                        + "this Tessera reads version " + QueueDescriptor.LAYOUT_VERSION + "; open it from a JVM "
                        + "running the same Tessera version as its creator");
            }
            int cap = QueueDescriptor.getCapacity(region);
            int max = QueueDescriptor.getMaxMessageBytes(region);
            QueueDescriptor.checkCapacity(cap, max);
            if (region.byteSize() < QueueDescriptor.regionBytes(cap, max)) {
                throw new IllegalStateException("queue " + segment.name() + " is corrupt: " + region.byteSize()
                        + " bytes hold no " + cap + " slots of " + max + " bytes");
            }
            if (capacity != null && capacity != cap) {
                throw new IllegalArgumentException("capacity=" + capacity + " but queue " + segment.name()
                        + " was created with capacity " + cap + "; leave optCapacity unset to open it");
            }
            if (maxMessageBytes != null && maxMessageBytes != max) {
                throw new IllegalArgumentException("maxMessageBytes=" + maxMessageBytes + " but queue "
                        + segment.name() + " was created with maxMessageBytes " + max
                        + "; leave optMaxMessageBytes unset to open it");
            }
            return region;
        }

        /** {@link #optSpinWait}, or its default for how this JVM waits. */
        private long spinNanos() {
            if (spinNanos != null) {
                return spinNanos;
            }
            return Futex.isAvailable() ? EventCount.DEFAULT_SPIN_NANOS : Backoff.SPIN_NANOS;
        }

        /** The codec of a handle on a queue whose slots hold {@code slotBytes}-byte messages. */
        private TensorCodec codec(int slotBytes) {
            if (copyTensors != null && maxNbytes != null) {
                throw new IllegalArgumentException("maxNbytes=" + maxNbytes + " applies only when tensors travel "
                        + "by size, but optCopyTensors(" + copyTensors + ") sends every tensor one way; drop one of "
                        + "them");
            }
            TensorCodec.Builder b = TensorCodec.builder().optAllowPatterns(allowPatterns.toArray(String[]::new));
            if (copyTensors != null) {
                b.optMode(copyTensors ? TensorCodec.Mode.COPY : TensorCodec.Mode.SHARE);
            } else {
                b.optMaxNbytes(maxNbytes != null ? maxNbytes : Math.min(TensorCodec.DEFAULT_MAX_NBYTES, slotBytes / 2));
            }
            if (directory != null) {
                b.optDirectory(directory);
            }
            return b.build();
        }
    }
}
