package dev.tessera.sharedmem;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

@ExtendWith(ShmLeakCheck.class)
class SharedTensorTest {

    @ParameterizedTest
    @EnumSource(DType.class)
    void allocatesZeroFilledSixtyFourByteAlignedDataForEveryDType(DType dtype) {
        try (SharedTensor t = SharedTensor.allocate(dtype, 3, 5)) {
            assertEquals(15L * dtype.byteSize(), t.byteSize());
            assertEquals(0, t.segment().address() % 64);
            assertEquals(-1, t.segment().mismatch(MemorySegment.ofArray(new byte[(int) t.byteSize()])));
            assertEquals(ShmLeakCheck.directory(), t.ref().directory());
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BFLOAT16", "INT16"}, mode = EnumSource.Mode.EXCLUDE)
    void djlViewIsZeroCopyInBothDirectionsForEveryDjlDType(DType dtype) {
        try (NDManager manager = NDManager.newBaseManager(); SharedTensor t = SharedTensor.allocate(dtype, 2, 3)) {
            NDArray view = t.toNDArray(manager);
            assertEquals(dtype.toDjl(), view.getDataType());
            assertArrayEquals(new long[] {2, 3}, view.getShape().getShape());
            t.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
            assertEquals(1, view.toByteBuffer().get(0), "a write to shared memory shows in the view");
            view.set(new NDIndex("1, 2"), 1);
            assertEquals(-1, t.segment().asSlice(0, 5L * dtype.byteSize())
                    .mismatch(MemorySegment.ofArray(view.toByteBuffer().array()).asSlice(0, 5L * dtype.byteSize())));
            assertTrue(t.segment().asSlice(5L * dtype.byteSize()).mismatch(
                    MemorySegment.ofArray(new byte[dtype.byteSize()])) >= 0, "a write to the view lands in shared memory");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BFLOAT16", "INT16"})
    void djlViewOfTypesDjlCannotHoldIsRefusedInsteadOfAbortingTheJvm(DType dtype) {
        try (NDManager manager = NDManager.newBaseManager(); SharedTensor t = SharedTensor.allocate(dtype, 2)) {
            assertThrows(UnsupportedOperationException.class, () -> t.toNDArray(manager));
        }
    }

    @Test
    void djlInPlaceOperationWritesSharedMemory() {
        try (NDManager manager = NDManager.newBaseManager(); SharedTensor t = SharedTensor.allocate(DType.FLOAT32, 4)) {
            t.toNDArray(manager).addi(2.5f);
            assertEquals(2.5f, t.asByteBuffer().asFloatBuffer().get(3));
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void nd4jViewIsZeroCopyForEveryDType(DType dtype) {
        try (SharedTensor t = SharedTensor.allocate(dtype, 2, 2)) {
            INDArray view = t.toINDArray();
            assertArrayEquals(new long[] {2, 2}, view.shape());
            view.putScalar(new long[] {1, 1}, 1);
            MemorySegment zero = MemorySegment.ofArray(new byte[dtype.byteSize()]);
            assertEquals(-1, t.segment().asSlice(0, 3L * dtype.byteSize()).mismatch(
                    MemorySegment.ofArray(new byte[3 * dtype.byteSize()])));
            assertTrue(t.segment().asSlice(3L * dtype.byteSize()).mismatch(zero) >= 0, "ND4J wrote into shared memory");
            t.segment().fill((byte) 0);
            assertEquals(0.0, view.getDouble(1, 1), "a write to shared memory shows in the view");
        }
    }

    @Test
    void copyOfNDArrayCopiesValuesAndShape() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray src = manager.arange(12f).reshape(3, 4);
            try (SharedTensor t = SharedTensor.copyOf(src)) {
                assertArrayEquals(new long[] {3, 4}, t.shape());
                assertArrayEquals(src.toFloatArray(), t.toNDArray(manager).toFloatArray());
            }
            NDArray transposed = src.transpose(); // not contiguous
            try (SharedTensor t = SharedTensor.copyOf(transposed)) {
                assertArrayEquals(transposed.toFloatArray(), t.toNDArray(manager).toFloatArray());
            }
        }
    }

    @Test
    void copyOfINDArrayHandlesViewsAndFortranOrder() {
        INDArray src = Nd4j.arange(0, 12).castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE).reshape(3, 4);
        try (SharedTensor t = SharedTensor.copyOf(src)) {
            assertEquals(DType.FLOAT64, t.dtype());
            assertEquals(src, t.toINDArray());
        }
        INDArray column = src.getColumn(1); // a strided view
        try (SharedTensor t = SharedTensor.copyOf(column)) {
            assertEquals(column, t.toINDArray());
        }
        INDArray fortran = src.dup('f');
        try (SharedTensor t = SharedTensor.copyOf(fortran)) {
            assertEquals(src, t.toINDArray());
        }
    }

    @Test
    void everyViewFailsWithIllegalStateAfterClose() {
        try (NDManager manager = NDManager.newBaseManager()) {
            SharedTensor t = SharedTensor.allocate(DType.FLOAT32, 8);
            MemorySegment segment = t.segment();
            ByteBuffer buffer = t.asByteBuffer();
            NDArray djl = t.toNDArray(manager);
            NDArray derived = djl.reshape(2, 4); // a torch view of the same memory
            INDArray nd4j = t.toINDArray();
            INDArray nd4jRow = nd4j.reshape(2, 4).getRow(0);
            t.close();
            t.close(); // idempotent
            assertFalse(t.isOpen());
            assertThrows(IllegalStateException.class, () -> segment.get(ValueLayout.JAVA_FLOAT, 0));
            assertThrows(IllegalStateException.class, () -> buffer.getFloat(0));
            assertThrows(IllegalStateException.class, t::segment);
            assertThrows(IllegalStateException.class, () -> t.toNDArray(manager));
            assertThrows(IllegalStateException.class, djl::toFloatArray);
            assertThrows(IllegalStateException.class, () -> derived.addi(1));
            assertThrows(IllegalStateException.class, () -> nd4j.getFloat(0));
            assertThrows(IllegalStateException.class, () -> nd4jRow.addi(1));
        }
    }

    @Test
    void closingTheManagerFirstIsSafe() {
        SharedTensor t = SharedTensor.allocate(DType.INT32, 4);
        NDManager manager = NDManager.newBaseManager();
        NDArray view = t.toNDArray(manager);
        manager.close();
        assertThrows(IllegalStateException.class, view::toIntArray);
        t.segment().set(ValueLayout.JAVA_INT, 0, 7); // the tensor itself is still fine
        t.close();
    }

    @Test
    void readOnlyTensorRejectsJavaWritesAndKeepsNativeWritesPrivate() {
        try (NDManager manager = NDManager.newBaseManager(); SharedTensor owner = SharedTensor.allocate(DType.FLOAT32, 4)) {
            owner.segment().set(ValueLayout.JAVA_FLOAT, 0, 1f);
            try (SharedTensor ro = owner.ref().openReadOnly()) {
                assertTrue(ro.isReadOnly());
                assertTrue(ro.ref().isReadOnly());
                assertThrows(IllegalArgumentException.class, () -> ro.segment().set(ValueLayout.JAVA_FLOAT, 0, 9f));
                assertThrows(ReadOnlyBufferException.class, () -> ro.asByteBuffer().putFloat(0, 9f));
                NDArray djl = ro.toNDArray(manager);
                assertEquals(1f, djl.getFloat(0));
                djl.addi(100f); // lands in a private copy-on-write page
                INDArray nd4j = ro.toINDArray();
                nd4j.addi(1000f);
                assertEquals(1f, owner.segment().get(ValueLayout.JAVA_FLOAT, 0), "shared data unchanged");
                assertEquals(1f, ro.segment().get(ValueLayout.JAVA_FLOAT, 0));
            }
            assertThrows(ReadOnlyBufferException.class, () -> owner.asReadOnlyByteBuffer().putFloat(0, 2f));
        }
    }

    @Test
    void zeroDimensionalAndEmptyTensorsWork() {
        try (NDManager manager = NDManager.newBaseManager();
                SharedTensor scalar = SharedTensor.allocate(DType.FLOAT64);
                SharedTensor empty = SharedTensor.allocate(DType.FLOAT32, 3, 0)) {
            scalar.toNDArray(manager).addi(4.0);
            assertEquals(4.0, scalar.segment().get(ValueLayout.JAVA_DOUBLE, 0));
            assertEquals(4.0, scalar.toINDArray().getDouble(0));
            assertEquals(0, empty.byteSize());
            assertEquals(0, empty.toNDArray(manager).size());
            assertEquals(0, empty.toINDArray().length());
        }
    }

    @Test
    void builderChecksItsArguments() {
        assertThrows(IllegalArgumentException.class, () -> SharedTensor.builder().setShape(2, -1));
        assertThrows(IllegalStateException.class, () -> SharedTensor.builder().setShape(2).build());
        assertThrows(IllegalArgumentException.class, () -> SharedTensor.allocate(DType.INT64, Long.MAX_VALUE, 2));
    }

    @Test
    void tensorsShareOneSegmentAtAlignedOffsets() {
        try (SharedSegment seg = SharedSegment.builder().setSize(256).build();
                SharedTensor a = seg.tensorAt(0, DType.INT32, 4);
                SharedTensor b = seg.tensorAt(64, DType.INT32, 4)) {
            b.segment().set(ValueLayout.JAVA_INT, 0, 42);
            assertEquals(42, seg.data().get(ValueLayout.JAVA_INT, 64));
            assertEquals(0, a.segment().get(ValueLayout.JAVA_INT, 0));
            assertThrows(IllegalArgumentException.class, () -> seg.tensorAt(32, DType.INT32, 4));
            assertThrows(IllegalArgumentException.class, () -> seg.tensorAt(192, DType.INT32, 64));
            assertEquals(3, seg.refCountVolatile());
        }
    }
}
