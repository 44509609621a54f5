package dev.tessera.sharedmem;

import ai.djl.ndarray.types.DataType;

/**
 * Element types a {@link SharedTensor} can hold. Immutable and thread-safe.
 *
 * <p>Each type has a stable one-byte {@link #code()} used in the compact {@link TensorRef} form; codes
 * never change meaning, so stubs written by one version can be read by the next.
 */
public enum DType {
    /** IEEE 754 half precision, 2 bytes, code 1. */
    FLOAT16(1, 2, DataType.FLOAT16),
    /** bfloat16 (8-bit exponent, 7-bit mantissa), 2 bytes, code 2; no DJL view (see {@link #checkDjlViewSupported()}). */
    BFLOAT16(2, 2, DataType.BFLOAT16),
    /** IEEE 754 single precision, 4 bytes, code 3. */
    FLOAT32(3, 4, DataType.FLOAT32),
    /** IEEE 754 double precision, 8 bytes, code 4. */
    FLOAT64(4, 8, DataType.FLOAT64),
    /** Signed 8-bit integer, 1 byte, code 5. */
    INT8(5, 1, DataType.INT8),
    /** Signed 16-bit integer, 2 bytes, code 6; no DJL view (see {@link #checkDjlViewSupported()}). */
    INT16(6, 2, DataType.INT16),
    /** Signed 32-bit integer, 4 bytes, code 7. */
    INT32(7, 4, DataType.INT32),
    /** Signed 64-bit integer, 8 bytes, code 8. */
    INT64(8, 8, DataType.INT64),
    /** Unsigned 8-bit integer, 1 byte, code 9. */
    UINT8(9, 1, DataType.UINT8),
    /** Boolean, one byte per element (0 or 1), code 10. */
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

    /**
     * The stable one-byte code of this type in the compact {@link TensorRef} form.
     *
     * @return the code, 1 to 10
     */
    public int code() {
        return code;
    }

    /**
     * The size of one element.
     *
     * @return bytes per element: 1, 2, 4 or 8
     */
    public int byteSize() {
        return byteSize;
    }

    /**
     * The DJL data type with the same element layout. Having one does not mean DJL can wrap it; see
     * {@link #isDjlViewSupported()}.
     *
     * @return the DJL data type, never null
     */
    public DataType toDjl() {
        return djl;
    }

    /**
     * The type with the given {@link #code()}.
     *
     * @param code a code read from a stub
     * @return the type, never null
     * @throws IllegalArgumentException if no type has that code
     */
    public static DType fromCode(int code) {
        for (DType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        throw new IllegalArgumentException("dtype code=" + code + " (expected 1.." + values().length + ")");
    }

    /**
     * The type with the same element layout as a DJL data type.
     *
     * @param type a DJL data type
     * @return the type, never null
     * @throws IllegalArgumentException if {@code type} has no equivalent here (for example {@code STRING})
     */
    public static DType fromDjl(DataType type) {
        for (DType t : values()) {
            if (t.djl == type) {
                return t;
            }
        }
        throw new IllegalArgumentException("DJL data type " + type + " has no shared-memory equivalent");
    }

    /**
     * Whether DJL's PyTorch engine can wrap this type (see {@link #checkDjlViewSupported()}).
     *
     * @return false for {@link #BFLOAT16} and {@link #INT16}, true otherwise
     */
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

    /**
     * Number of elements of {@code shape}; checks every dimension and overflow.
     *
     * @param shape the dimensions, row-major; an empty array is a scalar (one element)
     * @return the product of the dimensions (0 if any is 0)
     * @throws IllegalArgumentException if the rank exceeds {@link #MAX_RANK}, a dimension is negative, or the
     *     product overflows a {@code long}
     */
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

    /**
     * Bytes of a contiguous row-major tensor of this type and {@code shape}.
     *
     * @param shape the dimensions, checked as by {@link #elementCount(long[])}
     * @return the size in bytes
     * @throws IllegalArgumentException if the shape is invalid or the size overflows a {@code long}
     */
    public long byteSizeOf(long[] shape) {
        try {
            return Math.multiplyExact(elementCount(shape), byteSize);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("tensor of shape " + java.util.Arrays.toString(shape)
                    + " and dtype " + this + " is larger than 2^63 bytes", e);
        }
    }
}
