package dev.tessera.sharedmem;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.tessera.sharedmem.TensorCodec.Mode;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link Mode#AUTO}'s threshold: what travels (tensor bytes inside the message, or a stub with a segment in the
 * directory) on both sides of {@code maxNbytes}, the forced modes, and the option's validation.
 */
@ExtendWith(ShmLeakCheck.class)
class TensorCodecThresholdTest {
    private static final int THRESHOLD = 1000;
    private static final TensorCodec AUTO = TensorCodec.builder().optMaxNbytes(THRESHOLD).build();

    private static byte[] bytes(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) i;
        }
        return b;
    }

    @Test
    void autoWithAOneMebibyteThresholdIsTheDefault() {
        TensorCodec c = TensorCodec.builder().build();
        assertEquals(Mode.AUTO, c.mode());
        assertEquals(1L << 20, c.maxNbytes());
        assertEquals(TensorCodec.DEFAULT_MAX_NBYTES, c.maxNbytes());
    }

    @Test
    void anArrayOfThresholdBytesTravelsInline() {
        try (NDManager sender = NDManager.newBaseManager(); NDManager receiver = NDManager.newBaseManager()) {
            byte[] message = AUTO.encode(sender.create(bytes(THRESHOLD)));
            assertTrue(message.length > THRESHOLD, "the bytes are inside the message: " + message.length);
            assertEquals(0, ShmLeakCheck.fileCount(), "no segment for an inline tensor");
            NDArray back = (NDArray) AUTO.decode(message, receiver);
            assertArrayEquals(bytes(THRESHOLD), back.toByteArray());
        }
    }

    @Test
    void anArrayOfThresholdPlusOneBytesTravelsByStub() {
        try (NDManager sender = NDManager.newBaseManager()) {
            byte[] message = AUTO.encode(sender.create(bytes(THRESHOLD + 1)));
            assertTrue(message.length < 200, "a stub, not the tensor bytes: " + message.length);
            assertEquals(1, ShmLeakCheck.fileCount(), "the stub's segment travels with the message");
            try (NDManager receiver = NDManager.newBaseManager()) {
                assertArrayEquals(bytes(THRESHOLD + 1), ((NDArray) AUTO.decode(message, receiver)).toByteArray());
            }
            assertEquals(0, ShmLeakCheck.fileCount(), "closing the receiver released the segment");
        }
    }

    @Test
    void eachTensorOfAGraphIsSentByItsOwnSize() {
        try (NDManager sender = NDManager.newBaseManager(); NDManager receiver = NDManager.newBaseManager()) {
            NDArray small = sender.create(bytes(THRESHOLD));
            NDArray large = sender.create(bytes(4 * THRESHOLD));
            INDArray nd4jLarge = Nd4j.createFromArray(new double[THRESHOLD]); // 8000 bytes
            byte[] message = AUTO.encode(List.of(small, large, small, nd4jLarge));
            assertTrue(message.length > THRESHOLD && message.length < 2 * THRESHOLD,
                    "only the small tensor's bytes are inline, once: " + message.length);
            assertEquals(2, ShmLeakCheck.fileCount(), "one segment per large tensor");
            List<?> back = (List<?>) AUTO.decode(message, receiver);
            assertArrayEquals(bytes(THRESHOLD), ((NDArray) back.get(0)).toByteArray());
            assertArrayEquals(bytes(4 * THRESHOLD), ((NDArray) back.get(1)).toByteArray());
            assertEquals(nd4jLarge, back.get(3));
        }
    }

    @Test
    void aSharedTensorTravelsByStubWhateverItsSize() {
        try (SharedTensor mine = SharedTensor.allocate(DType.INT8, 1)) {
            byte[] message = AUTO.encode(List.of(mine));
            try (SharedTensor theirs = (SharedTensor) ((List<?>) AUTO.decode(message, null)).get(0)) {
                theirs.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 7);
                assertEquals(7, mine.segment().get(ValueLayout.JAVA_BYTE, 0), "the same memory, no copy");
            }
            assertEquals(1, ShmLeakCheck.fileCount(), "no second segment");
        }
    }

    @Test
    void forcedModesIgnoreTheSize() {
        try (NDManager sender = NDManager.newBaseManager(); NDManager receiver = NDManager.newBaseManager()) {
            NDArray tiny = sender.create(bytes(1));
            byte[] shared = TensorCodec.builder().optMode(Mode.SHARE).build().encode(tiny);
            assertEquals(1, ShmLeakCheck.fileCount(), "SHARE sends even one byte by stub");
            TensorCodec.builder().build().decode(shared, receiver);
            int big = (int) TensorCodec.DEFAULT_MAX_NBYTES + 1;
            byte[] copied = TensorCodec.builder().optMode(Mode.COPY).build().encode(sender.create(bytes(big)));
            assertTrue(copied.length > big, "COPY sends the bytes of an array over the threshold inline");
            assertEquals(1, ShmLeakCheck.fileCount(), "COPY made no segment");
        }
    }

    @Test
    void zeroSendsEveryNonEmptyArrayByStub() {
        TensorCodec zero = TensorCodec.builder().optMaxNbytes(0).build();
        try (NDManager sender = NDManager.newBaseManager(); NDManager receiver = NDManager.newBaseManager()) {
            byte[] one = zero.encode(sender.create(bytes(1)));
            assertEquals(1, ShmLeakCheck.fileCount());
            assertArrayEquals(bytes(1), ((NDArray) zero.decode(one, receiver)).toByteArray());
            byte[] empty = zero.encode(sender.create(new byte[0]));
            assertEquals(1, ShmLeakCheck.fileCount(), "an empty array has nothing to share");
            assertEquals(0, ((NDArray) zero.decode(empty, receiver)).size());
        }
    }

    @Test
    void rejectsANegativeThresholdAndAThresholdWithAForcedMode() {
        IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
                () -> TensorCodec.builder().optMaxNbytes(-1));
        assertTrue(negative.getMessage().startsWith("maxNbytes=-1 (expected >= 0"), negative.getMessage());
        for (Mode forced : new Mode[] {Mode.COPY, Mode.SHARE}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TensorCodec.builder().optMaxNbytes(5).optMode(forced).build());
            assertTrue(e.getMessage().contains("maxNbytes=5") && e.getMessage().contains("mode=" + forced),
                    e.getMessage());
        }
        assertEquals(5, TensorCodec.builder().optMode(Mode.AUTO).optMaxNbytes(5).build().maxNbytes());
    }
}
