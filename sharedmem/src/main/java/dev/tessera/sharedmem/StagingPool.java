package dev.tessera.sharedmem;

import dev.tessera.sharedmem.internal.ReferenceOwner;
import dev.tessera.sharedmem.internal.SegmentDescriptor;
import dev.tessera.sharedmem.internal.SegmentFiles;
import dev.tessera.sharedmem.internal.SegmentReference;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shared memory that {@link TensorCodec.Mode#COPY} encoding copies large tensors into, reused from message to
 * message: thread-safe; the caller owns the pool and must {@link #close()} it. Give it to a codec with
 * {@link TensorCodec.Builder#optStaging}.
 *
 * <p>Why: a copy has to land in memory the receiver can map, and on Linux the first touch of fresh
 * {@code /dev/shm} pages (allocating, zeroing and mapping them) costs far more than copying into them; on the
 * project machine, writing 1 GB into fresh pages runs at 1-3 GB/s, against 20 GB/s for a copy between pages
 * already in place. Sending the bytes through a socket is slower still. So the pool keeps segments whose
 * pages are already allocated and mapped, and a copy is one memcpy into one of them.
 *
 * <p>Ownership, per staged tensor: the pool holds one reference to each of its segments. Staging a tensor
 * takes a free segment (only the pool's reference is left: count 1, nothing in flight), gives it a new
 * generation, then reserves a second reference while the pool is the sole holder; that reference belongs to the
 * staged copy, then travels with the message (it is transferred to the message in flight) and the first decoder
 * takes it over. The receiver owns an independent copy
 * until it closes it: the sender never reads the segment, and reuses it only once the receiver's reference
 * is gone. A stub of an earlier message that is decoded again fails as stale (its generation is old). A
 * message that is never decoded keeps its segment busy, like a {@link TensorCodec.Mode#SHARE} message.
 *
 * <p>Bounds: at most {@link Builder#optMaxBytes} of segments (free or busy); beyond that a tensor is staged
 * in a one-off segment, unlinked when its receiver closes it. Free segments unused for
 * {@link Builder#optIdleTimeout} are released by a daemon thread. {@code close()} releases the pool's
 * references: free segments go at once, busy ones when their receivers close them.
 */
public final class StagingPool implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StagingPool.class);
    /** The reference owner a pool's own handle on each of its segments is. */
    static final String OWNER = "StagingPool";
    /** The reference owner a staged copy is until its message goes out. */
    static final String STAGED = "staged copy";

    private final Path directory;
    private final long maxBytes;
    private final long minTensorBytes;
    private final long idleNanos;
    private final List<Slot> slots = new ArrayList<>(); // guarded by this
    private long pooledBytes; // guarded by this
    private boolean closed; // guarded by this
    private Thread trimmer; // guarded by this

    private StagingPool(Builder b) {
        this.directory = b.directory != null ? b.directory : SharedSegment.defaultDirectory();
        this.maxBytes = b.maxBytes;
        this.minTensorBytes = b.minTensorBytes;
        this.idleNanos = b.idleTimeout.toNanos();
    }

    /**
     * A builder for a staging pool; every option has a default.
     *
     * @return a new builder, not thread-safe
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * NDArrays and INDArrays smaller than this travel inside the message instead (SharedTensors never do).
     *
     * @return the threshold in bytes ({@link Builder#optMinTensorBytes}, default 64 KiB)
     */
    public long minTensorBytes() {
        return minTensorBytes;
    }

    /**
     * Bytes of segments the pool holds now, free or busy.
     *
     * @return the total data size in bytes of the pooled segments, at most {@link Builder#optMaxBytes}
     */
    public synchronized long pooledBytes() {
        return pooledBytes;
    }

    /**
     * A segment of the pool, and what the pool knows about it. The pool's handle is the owner
     * {@code "StagingPool"} of one reference; a staged copy borrows a second one, only while the pool is the sole
     * holder (see {@link SegmentReference#tryReserveSole}).
     */
    private static final class Slot {
        final SharedSegment handle;
        final SegmentReference reference;
        final ReferenceOwner pool;
        final long capacity;
        long lastUsedNanos;

        Slot(SharedSegment handle) {
            this.handle = handle;
            this.reference = handle.lease().reference();
            this.pool = handle.lease().owner();
            this.capacity = handle.dataSize();
        }

        boolean isFree() {
            return reference.isHeldOnlyBy(pool);
        }

        /** Renews the generation, then lends a reference to {@code staged}; false if a receiver still holds one. */
        boolean claim(long generation, ReferenceOwner staged) {
            SegmentDescriptor.putGenerationVolatile(handle.lease().header(), generation);
            return reference.tryReserveSole(pool, staged);
        }
    }

    /**
     * One staged copy on its way to a receiver. Not thread-safe; one encode call owns it. Until its message goes
     * out, its reference belongs to it (the owner {@code "staged copy"}); then to the message in flight.
     */
    final class Staged {
        private final Slot slot; // null for a one-off segment
        private final ReferenceOwner owner;
        private final SharedTensor oneOff;
        private final TensorRef ref;
        private boolean handedOff;

        private Staged(Slot slot, ReferenceOwner owner, SharedTensor oneOff, TensorRef ref) {
            this.slot = slot;
            this.owner = owner;
            this.oneOff = oneOff;
            this.ref = ref;
        }

        TensorRef ref() {
            return ref;
        }

        /** The message goes out: its reference is now in flight, for the first decoder to take over. */
        void handOff() {
            handedOff = true;
            if (slot != null) {
                slot.reference.transfer(owner, ReferenceOwner.IN_FLIGHT);
            } else {
                oneOff.closeHandingOff();
            }
        }

        /** The message did not go out (before or after {@link #handOff}): the reference comes back. */
        void abort() {
            if (!handedOff) {
                if (slot != null) {
                    slot.reference.release(owner);
                } else {
                    oneOff.close();
                }
            } else {
                SharedSegment.recallHandoff(ref.directory(), ref.segmentName(), ref.generation());
            }
        }
    }

    /** Copies {@code bytes} (a tensor of {@code dtype} and {@code shape}) into pooled shared memory. */
    Staged stage(MemorySegment bytes, DType dtype, long[] shape) {
        long size = bytes.byteSize();
        long generation = SegmentFiles.newGeneration();
        ReferenceOwner staged = ReferenceOwner.local(STAGED);
        Slot slot = claimSlot(size, generation, staged);
        if (slot == null) {
            SharedTensor t = SharedTensor.builder().setDType(dtype).setShape(shape).optDirectory(directory).build();
            try {
                MemorySegment.copy(bytes, 0, t.segment(), 0, size);
                return new Staged(null, null, t, t.ref());
            } catch (RuntimeException | Error e) {
                t.close();
                throw e;
            }
        }
        try {
            MemorySegment.copy(bytes, 0, slot.handle.data(), 0, size);
        } catch (RuntimeException | Error e) {
            slot.reference.release(staged);
            throw e;
        }
        return new Staged(slot, staged, null,
                new TensorRef(directory, slot.handle.name(), 0, dtype, shape, generation, false));
    }

    /** A free slot that fits, claimed; a new one if there is room; null if the pool is full. */
    private Slot claimSlot(long size, long generation, ReferenceOwner staged) {
        List<Slot> evicted = new ArrayList<>();
        try {
            synchronized (this) {
                if (closed) {
                    throw new IllegalStateException("staging pool is closed");
                }
                Slot best = null;
                for (Slot s : slots) {
                    if (s.capacity >= size && s.capacity <= Math.max(2 * size, size + (1 << 20)) && s.isFree()
                            && (best == null || s.capacity < best.capacity)) {
                        best = s;
                    }
                }
                if (best != null && best.claim(generation, staged)) {
                    best.lastUsedNanos = System.nanoTime();
                    return best;
                }
                long capacity = SegmentDescriptor.alignUp(size);
                for (Iterator<Slot> it = slots.iterator(); it.hasNext() && pooledBytes + capacity > maxBytes; ) {
                    Slot s = it.next();
                    if (s.isFree()) {
                        it.remove();
                        pooledBytes -= s.capacity;
                        evicted.add(s);
                    }
                }
                if (pooledBytes + capacity > maxBytes) {
                    return null;
                }
                pooledBytes += capacity; // reserved; the segment is created outside the lock
            }
        } finally {
            evicted.forEach(s -> s.handle.close());
        }
        return newSlot(size, generation, staged);
    }

    private Slot newSlot(long size, long generation, ReferenceOwner staged) {
        Slot slot;
        try {
            slot = new Slot(SharedSegment.create(directory, size, false, OWNER));
        } catch (RuntimeException | Error e) {
            synchronized (this) {
                pooledBytes -= SegmentDescriptor.alignUp(size);
            }
            throw e;
        }
        slot.claim(generation, staged); // nobody else knows it yet: 1 -> 2 cannot fail
        slot.lastUsedNanos = System.nanoTime();
        synchronized (this) {
            if (!closed) {
                slots.add(slot);
                startTrimmer();
                return slot;
            }
        }
        slot.reference.release(staged); // the pool closed meanwhile
        slot.handle.close();
        throw new IllegalStateException("staging pool is closed");
    }

    private void startTrimmer() { // holds this
        if (trimmer == null) {
            trimmer = Thread.ofPlatform().daemon().name("tessera-staging-trimmer").start(this::trimLoop);
        }
    }

    private void trimLoop() {
        long period = Math.max(10_000_000L, Math.min(idleNanos / 2, 1_000_000_000L));
        while (true) {
            LockSupport.parkNanos(period);
            List<Slot> idle = new ArrayList<>();
            boolean done;
            synchronized (this) {
                long now = System.nanoTime();
                for (Iterator<Slot> it = slots.iterator(); it.hasNext(); ) {
                    Slot s = it.next();
                    if (now - s.lastUsedNanos > idleNanos && s.isFree()) {
                        it.remove();
                        pooledBytes -= s.capacity;
                        idle.add(s);
                    }
                }
                done = closed || slots.isEmpty();
                if (done) {
                    trimmer = null;
                }
            }
            idle.forEach(s -> s.handle.close());
            if (done) {
                return;
            }
        }
    }

    /** Releases the pool's segments: free ones now, busy ones when their receivers close them. Idempotent. */
    @Override
    public void close() {
        List<Slot> all;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            all = new ArrayList<>(slots);
            slots.clear();
            pooledBytes = 0;
        }
        for (Slot s : all) {
            try {
                s.handle.close();
            } catch (RuntimeException e) {
                LOG.warn("releasing staging segment {} failed: {}", s.handle.name(), e.toString());
            }
        }
    }

    @Override
    public synchronized String toString() {
        return "StagingPool[" + slots.size() + " segments, " + pooledBytes + " of " + maxBytes + " bytes]";
    }

    /** Options of a staging pool. */
    public static final class Builder {
        private Path directory;
        private long maxBytes = 2L << 30;
        private long minTensorBytes = 64 << 10;
        private Duration idleTimeout = Duration.ofSeconds(10);

        private Builder() {}

        /**
         * The segment directory; defaults to {@link SharedSegment#defaultDirectory()}.
         *
         * @param directory the directory; made absolute and normalised
         * @return this builder
         */
        public Builder optDirectory(Path directory) {
            this.directory = Objects.requireNonNull(directory, "directory").toAbsolutePath().normalize();
            return this;
        }

        /**
         * The most bytes of segments the pool keeps, free or busy; default 2 GiB.
         *
         * @param bytes the bound in bytes; 0 stages every tensor in a one-off segment
         * @return this builder
         * @throws IllegalArgumentException if {@code bytes} is negative
         */
        public Builder optMaxBytes(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("maxBytes=" + bytes + " (expected >= 0)");
            }
            this.maxBytes = bytes;
            return this;
        }

        /**
         * The smallest NDArray or INDArray worth staging; smaller ones travel inside the message, which is
         * cheaper for them. SharedTensors are always staged (they decode into shared memory anyway). Default
         * 64 KiB.
         *
         * @param bytes the threshold in bytes
         * @return this builder
         * @throws IllegalArgumentException if {@code bytes} is negative
         */
        public Builder optMinTensorBytes(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("minTensorBytes=" + bytes + " (expected >= 0)");
            }
            this.minTensorBytes = bytes;
            return this;
        }

        /**
         * How long a free segment is kept unused before it is released; default 10 s.
         *
         * @param timeout a positive duration
         * @return this builder
         * @throws IllegalArgumentException if {@code timeout} is null, zero or negative
         */
        public Builder optIdleTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("idleTimeout=" + timeout + " (expected > 0)");
            }
            this.idleTimeout = timeout;
            return this;
        }

        /**
         * Creates the pool; it allocates no segment until the first tensor is staged.
         *
         * @return a new pool the caller owns and must close
         */
        public StagingPool build() {
            return new StagingPool(this);
        }
    }
}
