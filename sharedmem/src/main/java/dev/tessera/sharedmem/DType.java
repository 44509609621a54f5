package dev.tessera.sharedmem;

import ai.djl.ndarray.types.DataType;

/**
 * Element types a {@link SharedTensor} can hold. Immutable and thread-safe.
 *
 * <p>Each type has a stable one-byte {@link #code()} used in the compact {@link TensorRef} form; codes
 * never change meaning, so stubs written by one version can be read by the next.
 */
public enum DType {
    FLOAT16(1, 2, DataType.FLOAT16),
    BFLOAT16(2, 2, DataType.BFLOAT16),
    FLOAT32(3, 4, DataType.FLOAT32),
    FLOAT64(4, 8, DataType.FLOAT64),
    INT8(5, 1, DataType.INT8),
    INT16(6, 2, DataType.INT16),
    INT32(7, 4, DataType.INT32),
    INT64(8, 8, DataType.INT64),
    UINT8(9, 1, DataType.UINT8),
    BOOL(10, 1, DataType.BOOLEAN);

    /** The largest rank a tensor may have. */
    public static final int MAX_RANK = 32;

    private final int code;
    private final int byteSize;
    private final DataType djl;

    DType(int code, int byteSize, DataType djl) {
        this.code = code;
        this.byteSize = byteSize;
        this.djl = djl;
    }

    public int code() {
        return code;
    }

    public int byteSize() {
        return byteSize;
    }

    public DataType toDjl() {
        return djl;
    }

    public static DType fromCode(int code) {
        for (DType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        throw new IllegalArgumentException("dtype code=" + code + " (expected 1.." + values().length + ")");
    }

    public static DType fromDjl(DataType type) {
        for (DType t : values()) {
            if (t.djl == type) {
                return t;
            }
        }
        throw new IllegalArgumentException("DJL data type " + type + " has no shared-memory equivalent");
    }

    /** Whether DJL's PyTorch engine can wrap this type (see {@link #checkDjlViewSupported()}). */
    public boolean isDjlViewSupported() {
        return this != BFLOAT16 && this != INT16;
    }

    /**
     * Throws {@link UnsupportedOperationException} for types DJL cannot wrap: DJL 0.35.1 with PyTorch 2.7.1
     * aborts the JVM (a C++ {@code std::terminate}) when it creates a bfloat16 or int16 tensor, so we refuse
     * before calling it.
     */
    public void checkDjlViewSupported() {
        if (!isDjlViewSupported()) {
            throw new UnsupportedOperationException("DJL 0.35.1's PyTorch engine aborts the JVM on " + this
                    + " tensors; use the MemorySegment, ByteBuffer or ND4J views of this tensor instead");
        }
    }

    /** Number of elements of {@code shape}; checks every dimension and overflow. */
    public static long elementCount(long[] shape) {
        if (shape.length > MAX_RANK) {
            throw new IllegalArgumentException("rank=" + shape.length + " (expected <= " + MAX_RANK + ")");
        }
        long count = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("shape dimension " + d + " (expected >= 0)");
            }
            try {
                count = Math.multiplyExact(count, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape)
                        + " has more than 2^63 elements", e);
            }
        }
        return count;
    }

    /** Bytes of a contiguous row-major tensor of this type and {@code shape}. */
    public long byteSizeOf(long[] shape) {
        try {
            return Math.multiplyExact(elementCount(shape), byteSize);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("tensor of shape " + java.util.Arrays.toString(shape)
                    + " and dtype " + this + " is larger than 2^63 bytes", e);
        }
    }
}
