package dev.tessera.sharedmem.store;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.tessera.sharedmem.DType;
import dev.tessera.sharedmem.MalformedMessageException;
import dev.tessera.sharedmem.SegmentReaper;
import dev.tessera.sharedmem.SharedSegment;
import dev.tessera.sharedmem.SharedTensor;
import dev.tessera.sharedmem.TensorCodec;
import dev.tessera.sharedmem.UntrustedFileException;
import dev.tessera.sharedmem.internal.FileTrust;
import dev.tessera.sharedmem.internal.SegmentLease;
import dev.tessera.sharedmem.internal.Nd4jSupport;
import dev.tessera.sharedmem.internal.SegmentDescriptor;
import dev.tessera.sharedmem.internal.SegmentFiles;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * A key-value store in shared memory that every process on the machine opens by name: thread-safe; the caller
 * owns the handle and must {@link #close()} it. Values returned by {@code get} belong to the caller (close the
 * {@link SharedTensor}s; NDArrays belong to the given {@code NDManager}).
 *
 * <pre>{@code
 * try (SharedStore store = SharedStore.open("experiment")) {          // opens it, or creates it
 *     store.put("weights", ndArray);                                   // one copy into shared memory
 *     store.put("config", Map.of("lr", 0.01));                         // any Serializable graph
 *     store.update("step", Integer.class, n -> n + 1);                 // atomic across processes
 * }
 * // any other process, also one started later:
 * try (SharedStore store = SharedStore.open("experiment");
 *      SharedTensor w = store.getTensor("weights")) {                  // zero-copy, read-only
 *     ...
 * }
 * }</pre>
 *
 * <p><b>Values.</b> A tensor ({@link SharedTensor}, DJL {@link NDArray}, ND4J {@code INDArray}) is copied once
 * into a segment of its own, and every {@code get} maps that segment read-only, zero-copy. Any other
 * {@link java.io.Serializable} value is encoded with a {@link TensorCodec} in copy mode (so tensors inside it
 * travel too) and kept in the index entry when it is at most {@value StoreIndexDescriptor#MAX_INLINE_BYTES}
 * bytes, in a segment of its own otherwise; {@code get} decodes it behind the codec's allow-list
 * {@link java.io.ObjectInputFilter} (add classes with {@link Builder#optAllowPatterns}) and within its decoding
 * limits ({@link Builder#optMaxReferences} and the others), so a value that another process planted is a
 * {@link MalformedMessageException}, never a hang or an {@code OutOfMemoryError}. Values are immutable
 * snapshots: {@code put} and {@code update} replace a value, they never write into one a reader may hold.
 *
 * <p><b>Missing keys.</b> {@code get} returns {@code null} for a key that is not there, like
 * {@link java.util.Map#get}; {@link #update} throws {@link NoSuchElementException}, {@link #remove} returns
 * false. Keys are 1 to {@value #MAX_KEY_BYTES} bytes of UTF-8; others are an {@link IllegalArgumentException}.
 * A {@code get} with a type the value does not have is a {@link ClassCastException} that names both.
 *
 * <p><b>Consistency.</b> Writers take a lock in the shared index (a holder that dies is detected by pid and
 * start time, and the next writer takes over and repairs the index); readers take no lock and retry if a
 * write overlapped. Every value segment counts the index entry as one reference and every reader as one
 * more, so replacing or removing a value never unmaps memory another process still reads: the segment goes
 * when its last reader closes it. {@link #update} is a compare-and-set on the entry's version, retried until
 * no other writer got in between, so concurrent updates from any number of threads and processes compose.
 *
 * <p><b>Lifetime.</b> The last {@code close()} across all processes removes the store and its values, unless
 * the store was created {@linkplain Builder#optPersistent persistent}: then it stays, like a persistent
 * {@link SharedSegment}, until its creator and every process that attached to it have died, and the
 * {@link SegmentReaper} collects it (and its values) as it collects segments ({@code ./tessera shm ls} lists
 * it as {@code tessera-store-UID-NAME}).
 *
 * <p><b>Ownership.</b> Each user has a store namespace of their own: the index file's name carries the numeric
 * uid of the user who opens it ({@code tessera-store-1000-experiment}), so two users' stores never collide.
 * The index and every value file must belong to this user and have no group/other permission bits, else
 * opening or reading is an {@link UntrustedFileException}; opt in with {@link Builder#optTrustedOwners} and
 * {@link Builder#optAllowSharedModes} (see "Ownership and permissions" in the README). A fixed number of keys fits the index ({@link Builder#optCapacity});
 * one more is a {@link StoreFullException}.
 */
public final class SharedStore implements AutoCloseable {
    /** The longest key, in UTF-8 bytes. */
    public static final int MAX_KEY_BYTES = StoreIndexDescriptor.MAX_KEY_BYTES;
    /** The longest store name, in characters. */
    public static final int MAX_NAME_LENGTH = StoreFiles.MAX_NAME_LENGTH;
    /** The number of keys a new store holds unless {@link Builder#optCapacity} says otherwise. */
    public static final int DEFAULT_CAPACITY = 1024;


    private final String name;
    private final Path directory;
    private final SegmentLease handle;
    private final StoreIndex index;
    private final StoreSegments.Link link;
    private final TensorCodec codec;
    private final FileTrust trust;
    private final AtomicBoolean closed = new AtomicBoolean();

    private SharedStore(String name, Path directory, SegmentLease handle, long lockTimeoutNanos, TensorCodec codec,
            FileTrust trust) {
        this.name = name;
        this.directory = directory;
        this.trust = trust;
        this.handle = handle;
        this.index = new StoreIndex(handle.view().asSlice(SegmentDescriptor.HEADER_LENGTH), name, lockTimeoutNanos);
        this.link = new StoreSegments.Link(name, handle.generation());
        this.codec = codec;
    }

    /**
     * Opens the store {@code name} in the default directory, creating it with default options if needed.
     *
     * @param name the store's name (see {@link Builder#setName})
     * @return a new handle the caller owns and must close
     * @throws IllegalArgumentException if {@code name} is not a valid store name
     * @throws UntrustedFileException if the store file is refused by the ownership rule
     */
    public static SharedStore open(String name) {
        return builder().setName(name).build();
    }

    /**
     * A builder for opening or creating a store; {@link Builder#setName} is required.
     *
     * @return a new builder, not thread-safe
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The store's name.
     *
     * @return the name given to {@link Builder#setName}
     */
    public String name() {
        return name;
    }

    /**
     * The index file.
     *
     * @return the path of the store's index segment
     */
    public Path path() {
        return handle.path();
    }

    /**
     * Whether the store survives its last close (see {@link Builder#optPersistent}).
     *
     * @return true if the store was created persistent
     */
    public boolean isPersistent() {
        return handle.isPersistent();
    }

    /**
     * The number of keys the index holds.
     *
     * @return the fixed capacity chosen when the store was created, in keys
     */
    public int capacity() {
        return index.capacity();
    }

    /**
     * Whether {@link #close()} has not been called on this handle yet.
     *
     * @return true until this handle is closed
     */
    public boolean isOpen() {
        return !closed.get();
    }

    // ------------------------------------------------------------------------------------------- writes

    /**
     * Sets {@code key} to {@code value}, replacing any previous value. Tensors are copied into shared memory
     * (once); other values must be {@link java.io.Serializable}.
     *
     * @param key the key, 1 to {@link #MAX_KEY_BYTES} bytes of UTF-8
     * @param value the value, not null
     * @throws IllegalArgumentException if the key is empty, too long or not valid Unicode
     * @throws IllegalStateException if this handle is closed
     * @throws StoreFullException if the key is new and the index has no free entry
     * @throws dev.tessera.sharedmem.SegmentSpaceException if the value does not fit the segment directory
     */
    public void put(String key, Object value) {
        byte[] k = keyBytes(key);
        int hash = StoreIndex.hash(k);
        checkOpen();
        StoreValue next = StoreValue.prepare(value, codec, directory, link);
        byte[] replaced = commit(key, k, hash, next, -1);
        release(replaced);
    }

    /**
     * Replaces {@code key}'s value with {@code fn} applied to it, atomically with respect to every other
     * writer in every process: if another write got in between, {@code fn} runs again on the newer value.
     * {@code fn} receives the value as {@code get(key, type)} would return it; a tensor it receives is
     * read-only and closed (with its DJL arrays) when {@code update} returns, so return new values, not
     * views of it. Returns what {@code fn} returned (which was stored).
     *
     * @param <T> the type of the current value
     * @param <R> the type of the new value
     * @param key the key, 1 to {@link #MAX_KEY_BYTES} bytes of UTF-8
     * @param type the expected class of the current value
     * @param fn the update; may run more than once, must not return null
     * @return the new value, as stored
     * @throws NullPointerException if {@code fn} returns null
     * @throws NoSuchElementException if the key is absent
     * @throws ClassCastException if the value is not a {@code type}
     */
    public <T, R> R update(String key, Class<T> type, Function<? super T, ? extends R> fn) {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(fn, "fn");
        byte[] k = keyBytes(key);
        int hash = StoreIndex.hash(k);
        while (true) {
            checkOpen();
            byte[] current = index.lookup(k, hash);
            if (current == null) {
                throw new NoSuchElementException("no key '" + key + "' in store '" + name + "' to update");
            }
            R result;
            StoreValue next;
            try (NDManager scratch = NDArray.class.isAssignableFrom(type) ? NDManager.newBaseManager() : null) {
                Object value;
                try {
                    value = materialize(key, current, type, scratch);
                } catch (ValueGoneException e) {
                    continue; // replaced while we opened it: read the newer value
                }
                try {
                    result = fn.apply(type.cast(value));
                    next = StoreValue.prepare(Objects.requireNonNull(result,
                            () -> "update of key '" + key + "' returned null (use remove to delete a key)"),
                            codec, directory, link);
                } finally {
                    if (value instanceof SharedTensor t) {
                        t.close();
                    }
                }
            }
            byte[] replaced = commit(key, k, hash, next, StoreIndex.versionOf(current));
            if (replaced != null) {
                release(replaced);
                return result;
            }
        }
    }

    /**
     * Writes {@code next} under {@code key} while holding the lock; with {@code expectedVersion >= 0}, only if
     * the entry still has that version. Returns the replaced entry (an empty array when the key was new), or
     * null when the version check failed. Always ends {@code next}.
     */
    private byte[] commit(String key, byte[] k, int hash, StoreValue next, long expectedVersion) {
        boolean committed = false;
        index.lock();
        try {
            StoreIndex.Probe probe = index.probe(k, hash);
            byte[] replaced;
            if (probe.found() >= 0) {
                replaced = index.entryImage(probe.found());
                if (expectedVersion >= 0 && StoreIndex.versionOf(replaced) != expectedVersion) {
                    return null;
                }
                index.commit(probe.found(), next.image(k, hash), index.live(), index.tombstones());
            } else {
                if (expectedVersion >= 0) {
                    return null; // removed meanwhile: the caller looks again and reports it
                }
                if (probe.insertAt() < 0 || index.live() >= index.capacity()) {
                    throw new StoreFullException(name, index.capacity(), key);
                }
                boolean reuse = StoreIndex.stateOf(index.entryImage(probe.insertAt()))
                        == StoreIndexDescriptor.STATE_TOMBSTONE;
                index.commit(probe.insertAt(), next.image(k, hash), index.live() + 1,
                        index.tombstones() - (reuse ? 1 : 0));
                replaced = new byte[0];
            }
            committed = true;
            return replaced;
        } finally {
            index.unlock();
            if (committed) {
                next.handOver();
            } else {
                next.discard();
            }
        }
    }

    /**
     * Removes {@code key} and its value; returns whether it was there. A process that still reads the value
     * keeps it until it closes it.
     *
     * @param key the key, 1 to {@link #MAX_KEY_BYTES} bytes of UTF-8
     * @return true if the key was present
     * @throws IllegalArgumentException if the key is empty, too long or not valid Unicode
     * @throws IllegalStateException if this handle is closed
     */
    public boolean remove(String key) {
        byte[] k = keyBytes(key);
        int hash = StoreIndex.hash(k);
        checkOpen();
        byte[] removed;
        index.lock();
        try {
            long slot = index.probe(k, hash).found();
            if (slot < 0) {
                return false;
            }
            removed = index.entryImage(slot);
            removeEntry(index, slot);
        } finally {
            index.unlock();
        }
        release(removed);
        return true;
    }

    /** Empties entry {@code slot}; the caller holds the lock and releases the value afterwards. */
    private static void removeEntry(StoreIndex index, long slot) {
        long following = (slot + 1) % index.capacity();
        if (StoreIndex.stateOf(index.entryImage(following)) == StoreIndexDescriptor.STATE_EMPTY) {
            // no probe path runs through this slot, so it can become empty instead of a tombstone
            index.commit(slot, new byte[StoreIndexDescriptor.ENTRY_LENGTH], index.live() - 1, index.tombstones());
        } else {
            index.commit(slot, StoreIndex.tombstoneImage(), index.live() - 1, index.tombstones() + 1);
        }
    }

    /** Drops the reference that a replaced or removed entry held on its value segment. */
    private void release(byte[] entry) {
        StoreSegments.releaseValue(directory, entry, trust);
    }

    // -------------------------------------------------------------------------------------------- reads

    /**
     * The value of {@code key}, or null if it is absent: a tensor as a read-only {@link SharedTensor} (the
     * caller closes it), any other value decoded. Use {@link #get(String, Class, NDManager)} for values that
     * hold DJL arrays.
     *
     * @param key the key, 1 to {@link #MAX_KEY_BYTES} bytes of UTF-8
     * @return the value, or null if the key is absent
     * @throws MalformedMessageException if the value is malformed or over a decoding limit
     * @throws IllegalStateException if this handle is closed
     */
    public Object get(String key) {
        return get(key, Object.class, null);
    }

    /**
     * Like {@link #get(String, Class, NDManager)} without a manager (no DJL arrays in the value).
     *
     * @param <T> the expected type
     * @param key the key
     * @param type the expected class of the value
     * @return the value, or null if the key is absent
     * @throws ClassCastException if the value is not a {@code type}
     */
    public <T> T get(String key, Class<T> type) {
        return get(key, type, null);
    }

    /**
     * The value of {@code key} as a {@code type}, or null if it is absent. A tensor comes back as a read-only,
     * zero-copy {@link SharedTensor} (which the caller closes), as a zero-copy DJL {@link NDArray} attached to
     * {@code manager} (copy-on-write: in-place writes stay private), or as an ND4J-owned {@code INDArray}
     * copy. Other values are decoded; DJL arrays inside them are attached to {@code manager}.
     *
     * @param <T> the expected type
     * @param key the key, 1 to {@link #MAX_KEY_BYTES} bytes of UTF-8
     * @param type the expected class of the value
     * @param manager the manager DJL arrays are attached to, or null if the value holds none
     * @return the value, or null if the key is absent
     * @throws ClassCastException if the value is not a {@code type}
     * @throws IllegalArgumentException if the value holds DJL arrays and {@code manager} is null
     * @throws MalformedMessageException if the value (or its index entry) is malformed, over one of the
     *     store's decoding limits ({@link Builder#optMaxReferences}, ...), or holds a class the allow-list rejects
     */
    public <T> T get(String key, Class<T> type, NDManager manager) {
        Objects.requireNonNull(type, "type");
        byte[] k = keyBytes(key);
        int hash = StoreIndex.hash(k);
        long failedVersion = -1;
        while (true) {
            checkOpen();
            byte[] entry = index.lookup(k, hash);
            if (entry == null) {
                return null;
            }
            try {
                return type.cast(materialize(key, entry, type, manager));
            } catch (ValueGoneException e) {
                long version = StoreIndex.versionOf(entry);
                if (version == failedVersion) {
                    throw new IllegalStateException("the value of key '" + key + "' in store '" + name + "' is gone: "
                            + e.getMessage() + "; its segment was removed outside the store", e);
                }
                failedVersion = version; // usually replaced while we opened it: read the newer value
            }
        }
    }

    /**
     * The tensor under {@code key} as a read-only, zero-copy {@link SharedTensor} the caller closes, or null.
     *
     * @param key the key
     * @return the tensor, or null if the key is absent
     * @throws ClassCastException if the value is not a tensor
     */
    public SharedTensor getTensor(String key) {
        return get(key, SharedTensor.class, null);
    }

    /**
     * The tensor under {@code key} as a zero-copy DJL array attached to {@code manager}, or null.
     *
     * In-place writes to it stay private to this process (copy-on-write).
     *
     * @param key the key
     * @param manager the manager the array is attached to, not null
     * @return the array, or null if the key is absent
     * @throws ClassCastException if the value is not a tensor
     */
    public NDArray getNDArray(String key, NDManager manager) {
        return get(key, NDArray.class, Objects.requireNonNull(manager, "manager"));
    }

    /**
     * Whether {@code key} has a value now.
     *
     * @param key the key
     * @return true if the key is present
     * @throws IllegalArgumentException if the key is empty, too long or not valid Unicode
     * @throws IllegalStateException if this handle is closed
     */
    public boolean containsKey(String key) {
        byte[] k = keyBytes(key);
        checkOpen();
        return index.lookup(k, StoreIndex.hash(k)) != null;
    }

    /**
     * The keys, sorted; a consistent snapshot.
     *
     * @return an unmodifiable sorted set of the keys
     * @throws IllegalStateException if this handle is closed
     */
    public Set<String> keys() {
        checkOpen();
        TreeSet<String> keys = new TreeSet<>();
        for (byte[] entry : index.liveEntries()) {
            keys.add(StoreIndex.keyOf(entry));
        }
        return Collections.unmodifiableSet(keys);
    }

    /**
     * The number of keys.
     *
     * @return the number of keys, at most {@link #capacity()}
     * @throws IllegalStateException if this handle is closed
     */
    public int size() {
        checkOpen();
        return (int) index.size();
    }

    private Object materialize(String key, byte[] entry, Class<?> type, NDManager manager) throws ValueGoneException {
        byte kind = StoreIndex.kindOf(entry);
        if (kind == StoreIndexDescriptor.KIND_TENSOR) {
            return tensorAs(key, entry, type, manager);
        }
        byte[] message = kind == StoreIndexDescriptor.KIND_INLINE ? StoreIndex.inlineBytesOf(entry) : segmentBytes(entry);
        Object value = codec.decode(message, manager);
        if (!type.isInstance(value)) {
            throw new ClassCastException("the value of key '" + key + "' in store '" + name + "' is a "
                    + value.getClass().getName() + ", not a " + type.getName());
        }
        return value;
    }

    private Object tensorAs(String key, byte[] entry, Class<?> type, NDManager manager) throws ValueGoneException {
        boolean asShared = type.isAssignableFrom(SharedTensor.class);
        boolean asDjl = NDArray.class.isAssignableFrom(type);
        boolean asNd4j = type.getName().equals("org.nd4j.linalg.api.ndarray.INDArray");
        TensorEntry ref = tensorEntryOf(key, entry);
        DType dtype = ref.dtype();
        long[] shape = ref.shape();
        if (!asShared && !asDjl && !asNd4j) {
            throw new ClassCastException("the value of key '" + key + "' in store '" + name + "' is a " + dtype
                    + Arrays.toString(shape) + " tensor, not a " + type.getName()
                    + " (get tensors as SharedTensor, NDArray or INDArray)");
        }
        if (asDjl && manager == null) {
            throw new IllegalArgumentException("key '" + key + "' holds a tensor: pass an NDManager to get it as an "
                    + "NDArray");
        }
        SharedTensor t = openTensor(ref);
        try {
            if (asShared) {
                return t;
            }
            if (asNd4j) {
                return Nd4jSupport.copyOf(t.segment(), dtype, shape);
            }
            NDArray view = t.toNDArray(manager);
            view.getManager().attachInternal(UUID.randomUUID().toString(), t); // the manager owns t now
            t = null;
            return view;
        } finally {
            if (t != null && !asShared) {
                t.close();
            }
        }
    }

    /** What a tensor entry names: its segment, and the tensor in it. */
    private record TensorEntry(String segmentName, long generation, DType dtype, long[] shape) {}

    /** The tensor an entry names; an entry no writer could have made is a {@link MalformedMessageException}. */
    private TensorEntry tensorEntryOf(String key, byte[] entry) {
        try {
            DType dtype = DType.fromCode(StoreIndex.dtypeCodeOf(entry));
            long[] shape = StoreIndex.shapeOf(entry);
            dtype.byteSizeOf(shape); // checks the rank and every dimension
            return new TensorEntry(SegmentFiles.nameOf(StoreIndex.segmentNameBitsOf(entry)),
                    StoreIndex.segmentGenerationOf(entry), dtype, shape);
        } catch (RuntimeException e) {
            throw new MalformedMessageException("the index entry of key '" + key + "' in store '" + name + "' is not "
                    + "a valid tensor entry (" + e.getMessage() + "); remove the key or recreate the store", e);
        }
    }

    /** Opens an entry's tensor, read-only, with this handle's file trust. */
    private SharedTensor openTensor(TensorEntry t) throws ValueGoneException {
        SegmentLease lease;
        try {
            lease = SegmentLease.open(directory, t.segmentName(), t.generation(), false, trust, StoreSegments.TENSOR_READER);
        } catch (UncheckedIOException | IllegalStateException e) {
            throw new ValueGoneException("cannot open " + t.segmentName() + ": " + e.getMessage());
        }
        try {
            return SharedTensor.ofLease(lease, t.dtype(), t.shape(), true);
        } catch (IllegalArgumentException e) {
            lease.close();
            throw new ValueGoneException("cannot open " + t.segmentName() + ": " + e.getMessage());
        }
    }

    private byte[] segmentBytes(byte[] entry) throws ValueGoneException {
        String segmentName = SegmentFiles.nameOf(StoreIndex.segmentNameBitsOf(entry));
        SegmentLease s;
        try {
            s = SegmentLease.open(directory, segmentName, StoreIndex.segmentGenerationOf(entry), false, trust, StoreSegments.READER);
        } catch (UncheckedIOException | IllegalStateException e) {
            throw new ValueGoneException(e.getMessage());
        }
        try (s) {
            long length = StoreIndex.valueLengthOf(entry);
            MemorySegment data = s.view().asSlice(SegmentDescriptor.HEADER_LENGTH);
            if (length < 0 || length > data.byteSize()) {
                throw new MalformedMessageException("the index entry of a value in store '" + name + "' declares "
                        + length + " bytes, but its segment " + segmentName + " holds " + data.byteSize(), null);
            }
            return data.asSlice(0, length).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** A value segment named by an entry could not be opened: it was released since the entry was read. */
    private static final class ValueGoneException extends Exception {
        private static final long serialVersionUID = 1L;

        ValueGoneException(String message) {
            super(message, null, false, false);
        }
    }

    // ------------------------------------------------------------------------------------------ helpers

    private static byte[] keyBytes(String key) {
        Objects.requireNonNull(key, "key");
        if (key.isEmpty()) {
            throw new IllegalArgumentException("key is empty (expected 1.." + MAX_KEY_BYTES + " bytes of UTF-8)");
        }
        byte[] bytes;
        try {
            var buffer = StandardCharsets.UTF_8.newEncoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).encode(CharBuffer.wrap(key));
            bytes = Arrays.copyOf(buffer.array(), buffer.limit());
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("key '" + key + "' is not valid Unicode (an unpaired surrogate)", e);
        }
        if (bytes.length > MAX_KEY_BYTES) {
            throw new IllegalArgumentException("key '" + key.substring(0, Math.min(key.length(), 40)) + "...' is "
                    + bytes.length + " bytes of UTF-8; the limit is " + MAX_KEY_BYTES + " bytes");
        }
        return bytes;
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("store '" + name + "' handle is closed");
        }
    }

    /**
     * Closes this handle. The last close across all processes removes a non-persistent store and releases its
     * values (each goes when its last reader closes it). Idempotent.
     */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            handle.close();
        }
    }

    @Override
    public String toString() {
        return "SharedStore[" + name + " in " + directory + (isOpen() ? "" : ", closed") + "]";
    }

    /** Options for opening (or creating) a store. */
    public static final class Builder {
        private String name;
        private Path directory;
        private int capacity = DEFAULT_CAPACITY;
        private boolean persistent;
        private boolean create = true;
        private Duration lockTimeout = Duration.ofSeconds(10);
        private final Set<Integer> trustedOwners = new java.util.TreeSet<>();
        private boolean allowSharedModes;
        private final TensorCodec.Builder codec = TensorCodec.builder().mode(TensorCodec.Mode.COPY);

        private Builder() {}

        /**
         * The store's name: 1 to 32 of {@code A-Z a-z 0-9 . _ -}, starting with a letter or digit.
         *
         * Required.
         *
         * @param name the name
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is not a valid store name
         */
        public Builder setName(String name) {
            StoreFiles.fileName(Objects.requireNonNull(name, "name"));
            this.name = name;
            return this;
        }

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
         * How many keys a new store holds (default 1024; 512 bytes of index each). Ignored when it exists.
         *
         * @param capacity the number of keys, 1 to 2^22
         * @return this builder
         * @throws IllegalArgumentException if {@code capacity} is out of range
         */
        public Builder optCapacity(int capacity) {
            StoreIndexDescriptor.checkCapacity(capacity);
            this.capacity = capacity;
            return this;
        }

        /**
         * Whether a new store survives its last close (until its creator and every process that attached to it
         * are dead and the reaper runs). Default false. Ignored when it exists.
         *
         * @param persistent true to keep the store after its last close
         * @return this builder
         */
        public Builder optPersistent(boolean persistent) {
            this.persistent = persistent;
            return this;
        }

        /**
         * Whether to create the store if it does not exist (default true); if false, a missing store throws.
         *
         * @param create false to only open an existing store
         * @return this builder
         */
        public Builder optCreate(boolean create) {
            this.create = create;
            return this;
        }

        /**
         * How long to wait for the store's lock while a live process holds it (default 10 s).
         *
         * It also bounds how long {@link #build()} waits for a store that is being created or removed.
         *
         * @param timeout a positive duration
         * @return this builder
         * @throws IllegalArgumentException if {@code timeout} is null, zero or negative
         */
        public Builder optLockTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("lockTimeout=" + timeout + " (expected > 0)");
            }
            this.lockTimeout = timeout;
            return this;
        }

        /**
         * Numeric uids (besides this process's own user) whose store index and value files this handle opens
         * (default: none; added to {@code -Dtessera.shm.trustedOwners}). A store that does not exist in this user's
         * namespace is then looked up in theirs (lowest uid first) before one is created in this user's. Without
         * it, a store file that another user owns is an {@link UntrustedFileException}: see "Ownership and
         * permissions" in the README.
         *
         * @param uids the numeric user ids to trust; added to those of earlier calls
         * @return this builder
         * @throws IllegalArgumentException if a uid is negative
         */
        public Builder optTrustedOwners(int... uids) {
            for (int uid : Objects.requireNonNull(uids, "uids")) {
                trustedOwners.add(FileTrust.checkUid(uid));
            }
            return this;
        }

        /**
         * Whether this handle opens store files that have group or other permission bits (default false, or
         * {@code -Dtessera.shm.allowSharedModes}). Stores this process creates are mode 0600 either way.
         *
         * @param allow true to open files with group or other permission bits
         * @return this builder
         */
        public Builder optAllowSharedModes(boolean allow) {
            this.allowSharedModes = allow;
            return this;
        }

        /**
         * Classes that values may contain, on top of TensorCodec's safe JDK defaults (same syntax).
         *
         * Default: none.
         *
         * @param patterns class names or patterns, as for {@link TensorCodec.Builder#optAllowPatterns}
         * @return this builder
         * @throws IllegalArgumentException if a pattern is malformed
         */
        public Builder optAllowPatterns(String... patterns) {
            codec.optAllowPatterns(patterns); // the codec builder checks them
            return this;
        }

        /**
         * Decoding limit for values that {@code get} reads; see {@link TensorCodec.Builder#optMaxGraphBytes}.
         *
         * Same default and check as there.
         *
         * @param bytes the limit in bytes
         * @return this builder
         * @throws IllegalArgumentException if the value is not positive
         */
        public Builder optMaxGraphBytes(int bytes) {
            codec.optMaxGraphBytes(bytes);
            return this;
        }

        /**
         * Decoding limit for values that {@code get} reads; see {@link TensorCodec.Builder#optMaxTensorBytes}.
         *
         * Same default and check as there.
         *
         * @param bytes the limit in bytes
         * @return this builder
         * @throws IllegalArgumentException if the value is not positive
         */
        public Builder optMaxTensorBytes(long bytes) {
            codec.optMaxTensorBytes(bytes);
            return this;
        }

        /**
         * Decoding limit for values that {@code get} reads; see {@link TensorCodec.Builder#optMaxArrayLength}.
         *
         * Same default and check as there.
         *
         * @param length the limit in elements
         * @return this builder
         * @throws IllegalArgumentException if the value is not positive
         */
        public Builder optMaxArrayLength(int length) {
            codec.optMaxArrayLength(length);
            return this;
        }

        /**
         * Decoding limit for values that {@code get} reads; see {@link TensorCodec.Builder#optMaxReferences}.
         *
         * Same default and check as there.
         *
         * @param references the limit in object references
         * @return this builder
         * @throws IllegalArgumentException if the value is not positive
         */
        public Builder optMaxReferences(long references) {
            codec.optMaxReferences(references);
            return this;
        }

        /**
         * Decoding limit for values that {@code get} reads; see {@link TensorCodec.Builder#optMaxDepth}.
         *
         * Same default and check as there.
         *
         * @param depth the limit in nesting levels
         * @return this builder
         * @throws IllegalArgumentException if the value is not positive
         */
        public Builder optMaxDepth(int depth) {
            codec.optMaxDepth(depth);
            return this;
        }

        /**
         * Decoding limit for values that {@code get} reads; see {@link TensorCodec.Builder#optMaxHashWork}.
         *
         * Same default and check as there.
         *
         * @param visits the limit in hash-table visits
         * @return this builder
         * @throws IllegalArgumentException if the value is not positive
         */
        public Builder optMaxHashWork(long visits) {
            codec.optMaxHashWork(visits);
            return this;
        }

        /**
         * Opens the store, creating it if it does not exist (and {@link #optCreate} allows it).
         *
         * @return a new handle the caller owns and must close
         * @throws IllegalStateException if the name was not set, or the store stayed busy (being created or
         *     removed) for longer than {@link #optLockTimeout}
         * @throws UntrustedFileException if the store file is refused by the ownership rule
         * @throws NoSuchElementException if it does not exist and creating is off
         */
        public SharedStore build() {
            if (name == null) {
                throw new IllegalStateException("setName(name) is required");
            }
            Path dir = SegmentFiles.useDirectory(directory != null ? directory : SharedSegment.defaultDirectory());
            FileTrust trust = FileTrust.fromSystemProperties().with(trustedOwners, allowSharedModes);
            TensorCodec codec = this.codec.optDirectory(dir).build();
            long timeoutNanos = lockTimeout.toNanos();
            SegmentLease handle = StoreSegments.openOrCreateIndex(dir, name, create, capacity, persistent,
                    timeoutNanos, trust);
            try {
                StoreIndex.checkLayout(handle.view().asSlice(SegmentDescriptor.HEADER_LENGTH),
                        handle.path().toString());
                return new SharedStore(name, dir, handle, timeoutNanos, codec, trust);
            } catch (RuntimeException | Error e) {
                handle.close();
                throw e;
            }
        }

    }
}
