package dev.tessera.sharedmem;

import dev.tessera.sharedmem.internal.SegmentLease;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.tessera.sharedmem.internal.Nd4jPresence;
import dev.tessera.sharedmem.internal.Nd4jSupport;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A contiguous row-major tensor in shared memory: thread-safe; the caller owns it and must {@link #close()}
 * it, which also closes every view it handed out. It holds one {@link SharedSegment} handle.
 *
 * <p>Views share the memory, nothing is copied: {@link #segment()}, {@link #asByteBuffer()} (native byte
 * order), {@link #toNDArray(NDManager)} and {@link #toINDArray()}. A view must not outlive its memory, so
 * {@code close()} first closes every DJL and ND4J view (and the NDManager each DJL view lives in, which holds
 * arrays derived from it), then unmaps. Any later use of a view is an {@link IllegalStateException}, not a
 * segfault. The one thing this cannot guard is a derived DJL array that was explicitly moved to another
 * manager ({@code attach}/{@code detach}): do not move views out of their scope.
 *
 * <p>A read-only tensor ({@link TensorRef#openReadOnly()}) gives read-only Java views: a write through
 * {@link #segment()} throws {@link IllegalArgumentException}, through {@link #asByteBuffer()}
 * {@link java.nio.ReadOnlyBufferException}. DJL and ND4J have no read-only arrays, so their views of a
 * read-only tensor map the data copy-on-write: an in-place native write changes only this process's private
 * copy, it never reaches other processes and never crashes the JVM.
 *
 * <p>DJL views of {@link DType#BFLOAT16} and {@link DType#INT16} are refused with
 * {@link UnsupportedOperationException}: DJL 0.35.1's PyTorch engine aborts the whole JVM when it creates such
 * a tensor. Use {@link #toINDArray()} or the Java views for them.
 */
public final class SharedTensor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SharedTensor.class);
    /** How the handle a tensor holds names itself as a reference owner. */
    static final String OWNER = "SharedTensor";

    private final SharedSegment handle;
    private final long offset;
    private final DType dtype;
    private final long[] shape;
    private final long byteSize;
    private final boolean readOnly;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final List<AutoCloseable> views = new ArrayList<>(); // guarded by this
    private MemorySegment privateCopy; // guarded by this; copy-on-write mapping for native read-only views

    private SharedTensor(SharedSegment handle, long offset, DType dtype, long[] shape, boolean readOnly) {
        this.handle = handle;
        this.offset = offset;
        this.dtype = dtype;
        this.shape = shape;
        this.byteSize = dtype.byteSizeOf(shape);
        this.readOnly = readOnly;
    }

    /**
     * Not an API: a tensor over a lease that a layer built on segments opened itself (the store opens its values
     * with its own file trust). The tensor takes ownership of the lease, at offset 0; checks that it fits.
     *
     * @param lease an open lease, which the new tensor owns (close it yourself only if this throws)
     * @param dtype the element type
     * @param shape the dimensions, row-major
     * @param readOnly whether the tensor is read-only
     * @return a new tensor the caller owns and must close
     * @throws IllegalArgumentException if the tensor does not fit the lease's data region
     */
    public static SharedTensor ofLease(SegmentLease lease, DType dtype, long[] shape, boolean readOnly) {
        return wrap(new SharedSegment(lease), 0, dtype, shape, readOnly);
    }

    /** Wraps a handle the new tensor takes ownership of; checks that the tensor fits the segment. */
    static SharedTensor wrap(SharedSegment handle, long offset, DType dtype, long[] shape, boolean readOnly) {
        long bytes = Objects.requireNonNull(dtype, "dtype").byteSizeOf(shape);
        if (offset < 0 || offset % 64 != 0 || offset > handle.dataSize() || bytes > handle.dataSize() - offset) {
            throw new IllegalArgumentException("tensor of " + bytes + " bytes at offset " + offset
                    + " does not fit the " + handle.dataSize() + "-byte data region of " + handle.name()
                    + " (offsets must be multiples of 64)");
        }
        return new SharedTensor(handle, offset, dtype, shape.clone(), readOnly);
    }

    /**
     * A new zero-filled tensor in its own segment in the default directory.
     *
     * @param dtype the element type
     * @param shape the dimensions, row-major (none for a scalar)
     * @return a new tensor the caller owns and must close
     * @throws IllegalArgumentException if the shape is invalid (see {@link DType#elementCount(long[])})
     * @throws SegmentSpaceException if the segment directory has no room for it
     */
    public static SharedTensor allocate(DType dtype, long... shape) {
        return builder().setDType(dtype).setShape(shape).build();
    }

    /**
     * A builder for a new tensor in its own segment; {@link Builder#setDType} and {@link Builder#setShape} are
     * required.
     *
     * @return a new builder, not thread-safe
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Copies a DJL array into a new shared tensor with one memory copy (plus one if it is not contiguous).
     *
     * @param array the source; it is only read, and stays owned by the caller
     * @return a new tensor the caller owns and must close
     * @throws IllegalArgumentException if its data type has no {@link DType}
     * @throws SegmentSpaceException if the segment directory has no room for it
     */
    public static SharedTensor copyOf(NDArray array) {
        SharedTensor t = allocate(DType.fromDjl(array.getDataType()), array.getShape().getShape());
        try {
            if (t.byteSize > 0) {
                ByteBuffer src = array.toByteBuffer(true);
                t.segment().copyFrom(MemorySegment.ofBuffer(src).asSlice(0, t.byteSize));
            }
            return t;
        } catch (RuntimeException | Error e) {
            t.close();
            throw e;
        }
    }

    /**
     * Copies an ND4J array into a new shared tensor with one memory copy (plus one if it is not contiguous).
     *
     * @param array the source; it is only read, and stays owned by the caller
     * @return a new tensor the caller owns and must close
     * @throws UnsupportedOperationException if ND4J is not on the class path
     * @throws IllegalArgumentException if its data type has no {@link DType}
     * @throws SegmentSpaceException if the segment directory has no room for it
     */
    public static SharedTensor copyOf(INDArray array) {
        Nd4jPresence.requirePresent();
        Nd4jSupport.Contiguous src = Nd4jSupport.contiguous(array);
        SharedTensor t = allocate(Nd4jSupport.dtypeOf(array), Nd4jSupport.shapeOf(array));
        try {
            t.segment().copyFrom(src.memory());
            java.lang.ref.Reference.reachabilityFence(src.array()); // the bytes live in that array's buffer
            return t;
        } catch (RuntimeException | Error e) {
            t.close();
            throw e;
        }
    }

    /**
     * The stub for this tensor; it carries this tensor's read-only flag.
     *
     * @return a new stub; it owns nothing and stays valid (but unopenable) after the segment is released
     */
    public TensorRef ref() {
        return new TensorRef(handle.directory(), handle.name(), offset, dtype, shape, handle.generation(), readOnly);
    }

    /**
     * The element type.
     *
     * @return the dtype, never null
     */
    public DType dtype() {
        return dtype;
    }

    /**
     * The dimensions, row-major.
     *
     * @return a fresh copy of the shape (empty for a scalar)
     */
    public long[] shape() {
        return shape.clone();
    }

    /**
     * Number of elements.
     *
     * @return the product of the dimensions
     */
    public long elementCount() {
        return DType.elementCount(shape);
    }

    /**
     * Size of the tensor's data.
     *
     * @return bytes: {@link #elementCount()} times {@link DType#byteSize()}
     */
    public long byteSize() {
        return byteSize;
    }

    /**
     * Whether the Java views are read-only and the native views copy-on-write.
     *
     * @return true if this tensor was opened read-only
     */
    public boolean isReadOnly() {
        return readOnly;
    }

    /**
     * Whether {@link #close()} has not been called yet.
     *
     * @return true until the tensor is closed
     */
    public boolean isOpen() {
        return !closed.get();
    }

    /**
     * The tensor's bytes (read-only if the tensor is); invalid once the tensor is closed.
     *
     * @return a slice of the mapping, {@link #byteSize()} bytes long
     * @throws IllegalStateException if the tensor is closed
     */
    public MemorySegment segment() {
        checkOpen();
        MemorySegment s = handle.data().asSlice(offset, byteSize);
        return readOnly ? s.asReadOnly() : s;
    }

    /**
     * A read-only view of the bytes, whatever this tensor's own mode.
     *
     * @return a read-only slice of the mapping, {@link #byteSize()} bytes long
     * @throws IllegalStateException if the tensor is closed
     */
    public MemorySegment readOnlySegment() {
        return segment().asReadOnly();
    }

    /**
     * The bytes as a native-order buffer (read-only if the tensor is); at most 2 GiB.
     *
     * @return a buffer over the mapping, invalid once the tensor is closed
     * @throws UnsupportedOperationException if the tensor is larger than {@code Integer.MAX_VALUE} bytes
     * @throws IllegalStateException if the tensor is closed
     */
    public ByteBuffer asByteBuffer() {
        checkByteBufferSize();
        return segment().asByteBuffer().order(ByteOrder.nativeOrder());
    }

    /**
     * The bytes as a read-only native-order buffer, whatever this tensor's own mode; at most 2 GiB.
     *
     * @return a read-only buffer over the mapping, invalid once the tensor is closed
     * @throws UnsupportedOperationException if the tensor is larger than {@code Integer.MAX_VALUE} bytes
     * @throws IllegalStateException if the tensor is closed
     */
    public ByteBuffer asReadOnlyByteBuffer() {
        checkByteBufferSize();
        return readOnlySegment().asByteBuffer().order(ByteOrder.nativeOrder());
    }

    /**
     * A zero-copy DJL array over the tensor, living in a new sub-manager of {@code manager}. It is closed when
     * this tensor is closed or {@code manager} is, whichever comes first. Copy-on-write if read-only.
     *
     * @param manager the parent manager; the view lives in a new sub-manager of it
     * @return the view, owned by this tensor
     * @throws UnsupportedOperationException for {@link DType#BFLOAT16} and {@link DType#INT16}, or a tensor over
     *     2 GiB
     * @throws IllegalStateException if the tensor is closed
     */
    public NDArray toNDArray(NDManager manager) {
        return djlView(manager, readOnly);
    }

    /**
     * A zero-copy DJL array whose in-place writes stay private to this process (copy-on-write).
     *
     * @param manager the parent manager; the view lives in a new sub-manager of it
     * @return the view, owned by this tensor
     * @throws UnsupportedOperationException for {@link DType#BFLOAT16} and {@link DType#INT16}, or a tensor over
     *     2 GiB
     * @throws IllegalStateException if the tensor is closed
     */
    public NDArray toReadOnlyNDArray(NDManager manager) {
        return djlView(manager, true);
    }

    private synchronized NDArray djlView(NDManager manager, boolean copyOnWrite) {
        checkOpen();
        checkByteBufferSize();
        dtype.checkDjlViewSupported();
        MemorySegment memory = copyOnWrite ? privateCopy() : segment();
        ByteBuffer buffer = memory.asByteBuffer().order(ByteOrder.nativeOrder());
        NDManager scope = manager.newSubManager();
        try {
            NDArray array = scope.create(buffer, new Shape(shape), dtype.toDjl());
            views.add(scope);
            views.add(array);
            return array;
        } catch (RuntimeException | Error e) {
            scope.close();
            throw e;
        }
    }

    /**
     * A zero-copy ND4J array over the tensor, closed when this tensor is. Copy-on-write if read-only.
     *
     * @return the view, owned by this tensor
     * @throws IllegalStateException if the tensor is closed
     * @throws UnsupportedOperationException if ND4J is not on the class path
     */
    public INDArray toINDArray() {
        return nd4jView(readOnly);
    }

    /**
     * A zero-copy ND4J array whose in-place writes stay private to this process (copy-on-write).
     *
     * @return the view, owned by this tensor
     * @throws IllegalStateException if the tensor is closed
     * @throws UnsupportedOperationException if ND4J is not on the class path
     */
    public INDArray toReadOnlyINDArray() {
        return nd4jView(true);
    }

    private synchronized INDArray nd4jView(boolean copyOnWrite) {
        Nd4jPresence.requirePresent();
        checkOpen();
        INDArray array = Nd4jSupport.view(copyOnWrite ? privateCopy() : segment(), dtype, shape);
        views.add(array);
        return array;
    }

    private MemorySegment privateCopy() { // caller holds the lock
        if (privateCopy == null) {
            privateCopy = handle.mapDataPrivately(offset, byteSize);
        }
        return privateCopy;
    }

    private void checkByteBufferSize() {
        if (byteSize > Integer.MAX_VALUE) {
            throw new UnsupportedOperationException("tensor of " + byteSize + " bytes exceeds the 2 GiB limit of "
                    + "ByteBuffer (and DJL views); use segment() or toINDArray()");
        }
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("shared tensor " + handle.name() + "@" + offset + " is closed");
        }
    }

    /** Closes every view, then releases the segment handle. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        List<AutoCloseable> toClose;
        synchronized (this) {
            toClose = new ArrayList<>(views);
            views.clear();
        }
        for (int i = toClose.size() - 1; i >= 0; i--) {
            try {
                toClose.get(i).close();
            } catch (Exception e) {
                LOG.warn("closing a view of {} failed: {}", handle.name(), e.toString());
            }
        }
        handle.close();
    }

    /** Closes this tensor but lets its segment reference travel in a message (see {@link TensorCodec}). */
    void closeHandingOff() {
        if (closed.compareAndSet(false, true)) {
            handle.closeHandingOff();
        }
    }

    @Override
    public String toString() {
        return "SharedTensor[" + dtype + Arrays.toString(shape) + " in " + handle.name() + "@" + offset
                + (readOnly ? ", read-only" : "") + (isOpen() ? "" : ", closed") + "]";
    }

    /** Options for {@link SharedTensor#builder()}. Not thread-safe; the tensor it builds is owned by the caller. */
    public static final class Builder {
        private DType dtype;
        private long[] shape;
        private Path directory;
        private boolean persistent;

        private Builder() {}

        /**
         * Sets the element type. Required.
         *
         * @param dtype the element type
         * @return this builder
         * @throws NullPointerException if {@code dtype} is null
         */
        public Builder setDType(DType dtype) {
            this.dtype = Objects.requireNonNull(dtype, "dtype");
            return this;
        }

        /**
         * Sets the dimensions, row-major (none for a scalar). Required.
         *
         * @param shape the dimensions; copied
         * @return this builder
         * @throws IllegalArgumentException if a dimension is negative, the rank exceeds {@link DType#MAX_RANK} or
         *     the element count overflows a {@code long}
         */
        public Builder setShape(long... shape) {
            DType.elementCount(Objects.requireNonNull(shape, "shape"));
            this.shape = shape.clone();
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
         * Whether the segment survives its last close (until the reaper finds its owner dead).
         *
         * Defaults to false.
         *
         * @param persistent true to keep the segment after the last handle closes
         * @return this builder
         */
        public Builder optPersistent(boolean persistent) {
            this.persistent = persistent;
            return this;
        }

        /**
         * Allocates the tensor; throws {@link SegmentSpaceException} if it does not fit.
         *
         * @return a new zero-filled tensor the caller owns and must close
         * @throws IllegalStateException if the dtype or the shape was not set
         * @throws IllegalArgumentException if the size in bytes overflows a {@code long}
         */
        public SharedTensor build() {
            if (dtype == null || shape == null) {
                throw new IllegalStateException("setDType and setShape are required (dtype=" + dtype + ", shape="
                        + Arrays.toString(shape) + ")");
            }
            long bytes = dtype.byteSizeOf(shape);
            Path dir = directory != null ? directory : SharedSegment.defaultDirectory();
            SharedSegment handle = SharedSegment.create(dir, bytes, persistent, OWNER);
            return new SharedTensor(handle, 0, dtype, shape, false);
        }
    }
}
