package dev.tessera.sharedmem.store;

import dev.tessera.sharedmem.DType;
import dev.tessera.sharedmem.SharedTensor;
import dev.tessera.sharedmem.TensorCodec;
import dev.tessera.sharedmem.internal.SegmentDescriptor;
import dev.tessera.sharedmem.internal.SegmentLease;
import ai.djl.ndarray.NDArray;
import dev.tessera.sharedmem.internal.Nd4jPresence;
import dev.tessera.sharedmem.internal.Nd4jSupport;
import dev.tessera.sharedmem.internal.SegmentFiles;
import java.io.Serializable;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A value on its way into a {@link SharedStore}, prepared before the store's lock is taken: its bytes are
 * already in a new segment linked to the store, or small enough to sit in the index entry. Not thread-safe;
 * one put or update owns it, and must end it with exactly one of {@link #handOver()} (the index entry now
 * owns the segment's reference) or {@link #discard()}.
 */
final class StoreValue {
    private final byte kind;
    private final SegmentLease segment; // null for inline values
    private final DType dtype;
    private final long[] shape;
    private final long length;
    private final byte[] payload;

    private StoreValue(byte kind, SegmentLease segment, DType dtype, long[] shape, long length, byte[] payload) {
        this.kind = kind;
        this.segment = segment;
        this.dtype = dtype;
        this.shape = shape;
        this.length = length;
        this.payload = payload;
    }

    /** Copies a tensor into a new linked segment, or encodes any other value with {@code codec}. */
    static StoreValue prepare(Object value, TensorCodec codec, Path directory, StoreSegments.Link link) {
        Objects.requireNonNull(value, "value");
        if (value instanceof SharedTensor t) {
            return tensor(t.dtype(), t.shape(), t.segment(), directory, link);
        }
        if (value instanceof NDArray a) {
            DType dtype = DType.fromDjl(a.getDataType());
            long[] shape = a.getShape().getShape();
            ByteBuffer bytes = dtype.byteSizeOf(shape) == 0 ? ByteBuffer.allocate(0) : a.toByteBuffer(true);
            return tensor(dtype, shape, MemorySegment.ofBuffer(bytes), directory, link);
        }
        if (Nd4jPresence.isINDArray(value)) {
            org.nd4j.linalg.api.ndarray.INDArray a = (org.nd4j.linalg.api.ndarray.INDArray) value;
            Nd4jSupport.Contiguous c = Nd4jSupport.contiguous(a);
            StoreValue v = tensor(Nd4jSupport.dtypeOf(a), Nd4jSupport.shapeOf(a), c.memory(), directory, link);
            java.lang.ref.Reference.reachabilityFence(c.array());
            return v;
        }
        if (!(value instanceof Serializable)) {
            throw new IllegalArgumentException("value of " + value.getClass().getName() + " is neither a tensor "
                    + "(SharedTensor, NDArray, INDArray) nor Serializable");
        }
        byte[] message = codec.encode(value);
        if (message.length <= StoreIndexDescriptor.MAX_INLINE_BYTES) {
            return new StoreValue(StoreIndexDescriptor.KIND_INLINE, null, null, null, message.length, message);
        }
        SegmentLease s = link.create(directory, message.length);
        try {
            MemorySegment.copy(MemorySegment.ofArray(message), 0, data(s), 0, message.length);
            return new StoreValue(StoreIndexDescriptor.KIND_SEGMENT, s, null, null, message.length, new byte[0]);
        } catch (RuntimeException | Error e) {
            s.close();
            throw e;
        }
    }

    private static StoreValue tensor(DType dtype, long[] shape, MemorySegment bytes, Path directory,
            StoreSegments.Link link) {
        long size = dtype.byteSizeOf(shape);
        SegmentLease s = link.create(directory, size);
        try {
            MemorySegment.copy(bytes, 0, data(s), 0, size);
            byte[] shapeBytes = new byte[8 * shape.length];
            MemorySegment.copy(shape, 0, MemorySegment.ofArray(shapeBytes), ValueLayout.JAVA_LONG_UNALIGNED, 0,
                    shape.length);
            return new StoreValue(StoreIndexDescriptor.KIND_TENSOR, s, dtype, shape.clone(), size, shapeBytes);
        } catch (RuntimeException | Error e) {
            s.close();
            throw e;
        }
    }

    private static MemorySegment data(SegmentLease s) {
        return s.view().asSlice(SegmentDescriptor.HEADER_LENGTH);
    }

    /** The index entry that describes this value under {@code key}. */
    byte[] image(byte[] key, int hash) {
        byte[] nameBits = segment != null ? SegmentFiles.nameBits(segment.path().getFileName().toString()) : null;
        long generation = segment != null ? segment.generation() : 0;
        return StoreIndex.liveImage(key, hash, kind, dtype != null ? dtype.code() : 0,
                shape != null ? shape.length : 0, nameBits, generation, length, payload);
    }

    /** The index entry owns the segment's reference now; this process lets go of its handle. */
    void handOver() {
        if (segment != null) {
            segment.closeTransferring(StoreSegments.ENTRY);
        }
    }

    /** The value did not make it into the index: its segment is released (and unlinked). */
    void discard() {
        if (segment != null) {
            segment.close();
        }
    }
}
