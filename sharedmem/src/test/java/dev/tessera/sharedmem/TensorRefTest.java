package dev.tessera.sharedmem;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

@ExtendWith(ShmLeakCheck.class)
class TensorRefTest {

    static Stream<Arguments> everyDTypeAndShape() {
        long[][] shapes = {{}, {0}, {3, 0, 2}, {1}, {7}, {2, 3}, {2, 3, 4, 5}, {1, 1, 1, 1, 1, 1}};
        return Arrays.stream(DType.values())
                .flatMap(t -> Arrays.stream(shapes).map(s -> Arguments.of(t, s)));
    }

    @ParameterizedTest
    @MethodSource("everyDTypeAndShape")
    void stubRoundTripsAndOpensTheSameBytes(DType dtype, long[] shape) throws Exception {
        try (SharedTensor t = SharedTensor.allocate(dtype, shape)) {
            for (long i = 0; i < t.byteSize(); i++) {
                t.segment().set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31 + 7));
            }
            TensorRef ref = t.ref();
            TensorRef parsed = TensorRef.fromBytes(ref.toBytes());
            assertEquals(ref, parsed);
            assertEquals(ref, javaRoundTrip(ref));
            assertArrayEquals(shape, parsed.shape());
            try (SharedTensor opened = parsed.open()) {
                assertEquals(dtype, opened.dtype());
                assertArrayEquals(shape, opened.shape());
                assertEquals(-1, opened.segment().mismatch(t.segment()));
            }
        }
    }

    @Test
    void compactFormOfAFourDimensionalStubIsUnder200Bytes() {
        try (SharedTensor t = SharedTensor.allocate(DType.FLOAT32, 64, 3, 224, 224)) {
            int size = t.ref().toBytes().length;
            assertTrue(size < 200, "stub of " + size + " bytes");
        }
    }

    @Test
    void rejectsMalformedAndForgedStubs() {
        try (SharedTensor t = SharedTensor.allocate(DType.INT32, 4)) {
            byte[] good = t.ref().toBytes();
            assertThrows(InvalidTensorRefException.class, () -> TensorRef.fromBytes(new byte[0]));
            assertThrows(InvalidTensorRefException.class, () -> TensorRef.fromBytes(Arrays.copyOf(good, 10)));
            assertThrows(InvalidTensorRefException.class, () -> TensorRef.fromBytes(Arrays.copyOf(good, good.length + 1)));
            assertThrows(InvalidTensorRefException.class, () -> TensorRef.fromBytes(with(good, 0, 'X')));
            assertThrows(InvalidTensorRefException.class, () -> TensorRef.fromBytes(with(good, 2, 0x40)));
            InvalidTensorRefException badDType = assertThrows(InvalidTensorRefException.class,
                    () -> TensorRef.fromBytes(with(good, 3, 99)));
            assertTrue(badDType.getMessage().contains("dtype"), badDType.getMessage());
            assertThrows(InvalidTensorRefException.class, () -> TensorRef.fromBytes(with(good, 4, 200)));
        }
    }

    @Test
    void rejectsImpossibleShapesAndOffsets() {
        TensorRef ok = refLike(DType.INT8, 0, 4);
        assertEquals(4, ok.byteSize());
        assertThrows(InvalidTensorRefException.class, () -> refLike(DType.INT8, 0, -1));
        assertThrows(InvalidTensorRefException.class, () -> refLike(DType.INT64, 0, Long.MAX_VALUE / 4, 4));
        assertThrows(InvalidTensorRefException.class, () -> refLike(DType.INT8, 32, 4));
        assertThrows(InvalidTensorRefException.class, () -> refLike(DType.INT8, -64, 4));
    }

    @Test
    void staleOrOutOfBoundsStubsFailClearlyWhenOpened() {
        SharedTensor t = SharedTensor.allocate(DType.FLOAT32, 16);
        TensorRef ref = t.ref();
        TensorRef otherGeneration = new TensorRef(ref.directory(), ref.segmentName(), 0, DType.FLOAT32,
                new long[] {16}, ref.generation() + 1, false);
        InvalidTensorRefException stale = assertThrows(InvalidTensorRefException.class, otherGeneration::open);
        assertTrue(stale.getMessage().contains("generation"), stale.getMessage());
        TensorRef tooBig = new TensorRef(ref.directory(), ref.segmentName(), 0, DType.FLOAT32, new long[] {17},
                ref.generation(), false);
        assertThrows(InvalidTensorRefException.class, tooBig::open);
        TensorRef pastTheEnd = new TensorRef(ref.directory(), ref.segmentName(), 64, DType.FLOAT32, new long[] {1},
                ref.generation(), false);
        assertThrows(InvalidTensorRefException.class, pastTheEnd::open);
        try (SharedTensor again = ref.open()) {
            assertEquals(64, again.byteSize());
        }
        t.close();
        InvalidTensorRefException gone = assertThrows(InvalidTensorRefException.class, ref::open);
        assertTrue(gone.getMessage().contains(ref.segmentName()), gone.getMessage());
    }

    @Test
    void readOnlyFlagTravelsWithTheStub() {
        try (SharedTensor t = SharedTensor.allocate(DType.UINT8, 8)) {
            TensorRef ro = t.ref().asReadOnly();
            assertNotEquals(t.ref(), ro);
            assertTrue(TensorRef.fromBytes(ro.toBytes()).isReadOnly());
            try (SharedTensor opened = ro.open()) {
                assertTrue(opened.isReadOnly());
            }
        }
    }

    private static TensorRef refLike(DType dtype, long offset, long... shape) {
        return new TensorRef(ShmLeakCheck.directory(), "tessera-0123456789abcdef0123456789abcdef", offset, dtype,
                shape, 1, false);
    }

    private static byte[] with(byte[] bytes, int index, int value) {
        byte[] copy = bytes.clone();
        copy[index] = (byte) value;
        return copy;
    }

    private static Object javaRoundTrip(Object o) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(o);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return in.readObject();
        }
    }
}
