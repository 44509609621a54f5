package dev.tessera.sharedmem.internal;

import dev.tessera.sharedmem.DType;
import java.lang.foreign.MemorySegment;
import org.bytedeco.javacpp.BooleanPointer;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.javacpp.indexer.Bfloat16Indexer;
import org.bytedeco.javacpp.indexer.BooleanIndexer;
import org.bytedeco.javacpp.indexer.ByteIndexer;
import org.bytedeco.javacpp.indexer.DoubleIndexer;
import org.bytedeco.javacpp.indexer.FloatIndexer;
import org.bytedeco.javacpp.indexer.HalfIndexer;
import org.bytedeco.javacpp.indexer.Indexer;
import org.bytedeco.javacpp.indexer.IntIndexer;
import org.bytedeco.javacpp.indexer.LongIndexer;
import org.bytedeco.javacpp.indexer.ShortIndexer;
import org.bytedeco.javacpp.indexer.UByteIndexer;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Everything that touches ND4J, kept in one class so that ND4J stays an optional dependency: nothing else
 * names an ND4J type in a method body, and this class is loaded only when {@link Nd4jPresence} says ND4J is there
 * (loading it without ND4J fails: its nested pointer class extends JavaCPP's).
 * Stateless and thread-safe.
 *
 * <p>Zero-copy views wrap the segment address in a JavaCPP {@link Pointer} without a deallocator and build
 * an external {@link DataBuffer} over it, so ND4J never frees (or copies) the shared memory. Closing the
 * returned {@link INDArray} releases the buffer; ND4J then rejects every later use of it, and of views
 * derived from it, with {@link IllegalStateException}.
 */
@SuppressWarnings({"deprecation", "restricted"}) // restricted: reinterpret of ND4J's own buffers; ND4J's canonical type names (INT, LONG, ...) are marked deprecated aliases
public final class Nd4jSupport {
    private Nd4jSupport() {}

    /**
     * The array a proxy stands for, through the proxy's own {@code readResolve} (which wraps the same data
     * buffer, no copy). Reflection is needed because ND4J keeps that method private.
     */
    public static INDArray fromProxy(Object proxy) {
        try {
            java.lang.reflect.Method resolve = proxy.getClass().getDeclaredMethod("readResolve");
            resolve.setAccessible(true);
            return (INDArray) resolve.invoke(proxy);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("cannot unwrap ND4J's serialization proxy " + proxy.getClass(), e);
        }
    }

    /** A zero-copy INDArray over {@code memory} (contiguous, row-major). */
    public static INDArray view(MemorySegment memory, DType dtype, long[] shape) {
        long n = DType.elementCount(shape);
        if (n == 0) {
            return Nd4j.create(toNd4j(dtype), shape); // an empty array has no data to share
        }
        Pointer base = new AddressPointer(memory.address(), memory.byteSize());
        DataBuffer buffer = buffer(base, dtype, n);
        return Nd4j.create(buffer, shape, rowMajorStrides(shape), 0, 'c', toNd4j(dtype));
    }

    /** A new zero-filled ND4J-owned array. */
    public static INDArray zeros(DType dtype, long[] shape) {
        return Nd4j.create(toNd4j(dtype), shape);
    }

    /** A new ND4J-owned array holding a copy of {@code memory}. */
    public static INDArray copyOf(MemorySegment memory, DType dtype, long[] shape) {
        INDArray array = Nd4j.create(toNd4j(dtype), shape);
        if (memory.byteSize() > 0) {
            memoryOf(array).copyFrom(memory);
        }
        return array;
    }

    public static DType dtypeOf(INDArray array) {
        return switch (array.dataType().name()) {
            case "HALF", "FLOAT16" -> DType.FLOAT16;
            case "BFLOAT16" -> DType.BFLOAT16;
            case "FLOAT" -> DType.FLOAT32;
            case "DOUBLE" -> DType.FLOAT64;
            case "BYTE", "INT8" -> DType.INT8;
            case "SHORT", "INT16" -> DType.INT16;
            case "INT", "INT32" -> DType.INT32;
            case "LONG", "INT64" -> DType.INT64;
            case "UBYTE", "UINT8" -> DType.UINT8;
            case "BOOL" -> DType.BOOL;
            default -> throw new IllegalArgumentException(
                    "ND4J data type " + array.dataType() + " has no shared-memory equivalent");
        };
    }

    public static long[] shapeOf(INDArray array) {
        return array.shape().clone();
    }

    /**
     * The bytes of {@code array} in row-major order, as a segment over ND4J's memory: the array itself when
     * it is contiguous and row-major, otherwise a row-major duplicate (which the caller must keep reachable
     * while it uses the segment, see {@link Contiguous}).
     */
    public static Contiguous contiguous(INDArray array) {
        INDArray source = isRowMajorContiguous(array) ? array : array.dup('c');
        return new Contiguous(source, memoryOf(source));
    }

    /** A row-major contiguous array and a segment over its bytes. */
    public record Contiguous(Object array, MemorySegment memory) {}

    private static boolean isRowMajorContiguous(INDArray array) {
        return array.isEmpty() || (array.ordering() == 'c' && !array.isView() && Shape.hasDefaultStridesForShape(array));
    }

    /** A segment over the bytes of a contiguous row-major array (valid while the array is). */
    public static MemorySegment memoryOf(INDArray array) {
        DType dtype = dtypeOf(array);
        long bytes = dtype.byteSizeOf(array.shape());
        if (bytes == 0) {
            return MemorySegment.NULL;
        }
        long address = array.data().address() + array.offset() * dtype.byteSize();
        return MemorySegment.ofAddress(address).reinterpret(bytes);
    }

    private static long[] rowMajorStrides(long[] shape) {
        long[] strides = new long[shape.length];
        long stride = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            strides[i] = stride;
            stride *= Math.max(1, shape[i]);
        }
        return strides;
    }

    private static DataType toNd4j(DType dtype) {
        return switch (dtype) {
            case FLOAT16 -> DataType.HALF;
            case BFLOAT16 -> DataType.BFLOAT16;
            case FLOAT32 -> DataType.FLOAT;
            case FLOAT64 -> DataType.DOUBLE;
            case INT8 -> DataType.BYTE;
            case INT16 -> DataType.SHORT;
            case INT32 -> DataType.INT;
            case INT64 -> DataType.LONG;
            case UINT8 -> DataType.UBYTE;
            case BOOL -> DataType.BOOL;
        };
    }

    private static DataBuffer buffer(Pointer base, DType dtype, long n) {
        Pointer typed;
        Indexer indexer;
        switch (dtype) {
            case FLOAT16 -> { ShortPointer p = new ShortPointer(base).capacity(n).limit(n); typed = p; indexer = HalfIndexer.create(p); }
            case BFLOAT16 -> { ShortPointer p = new ShortPointer(base).capacity(n).limit(n); typed = p; indexer = Bfloat16Indexer.create(p); }
            case FLOAT32 -> { FloatPointer p = new FloatPointer(base).capacity(n).limit(n); typed = p; indexer = FloatIndexer.create(p); }
            case FLOAT64 -> { DoublePointer p = new DoublePointer(base).capacity(n).limit(n); typed = p; indexer = DoubleIndexer.create(p); }
            case INT8 -> { BytePointer p = new BytePointer(base).capacity(n).limit(n); typed = p; indexer = ByteIndexer.create(p); }
            case INT16 -> { ShortPointer p = new ShortPointer(base).capacity(n).limit(n); typed = p; indexer = ShortIndexer.create(p); }
            case INT32 -> { IntPointer p = new IntPointer(base).capacity(n).limit(n); typed = p; indexer = IntIndexer.create(p); }
            case INT64 -> { LongPointer p = new LongPointer(base).capacity(n).limit(n); typed = p; indexer = LongIndexer.create(p); }
            case UINT8 -> { BytePointer p = new BytePointer(base).capacity(n).limit(n); typed = p; indexer = UByteIndexer.create(p); }
            case BOOL -> { BooleanPointer p = new BooleanPointer(base).capacity(n).limit(n); typed = p; indexer = BooleanIndexer.create(p); }
            default -> throw new IllegalArgumentException("dtype " + dtype);
        }
        return Nd4j.createBuffer(typed, toNd4j(dtype), n, indexer);
    }

    /** A pointer at a raw address with no deallocator: ND4J must never free shared memory. */
    private static final class AddressPointer extends Pointer {
        AddressPointer(long address, long bytes) {
            this.address = address;
            this.capacity = bytes;
            this.limit = bytes;
        }
    }
}
