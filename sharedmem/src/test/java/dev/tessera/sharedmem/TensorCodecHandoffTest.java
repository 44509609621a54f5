package dev.tessera.sharedmem;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What a sender learns of the references its message hands off, taking back those nobody took
 * ({@link TensorCodec#recallHandoff}), decoding stubs into copies ({@code optCopyStubsOnDecode}), and a decode without a
 * manager leaving a stub's hand-off pending.
 */
@ExtendWith(ShmLeakCheck.class)
class TensorCodecHandoffTest {
    private static final int THRESHOLD = 1000;
    private static final TensorCodec AUTO = TensorCodec.builder().optMaxNbytes(THRESHOLD).build();

    private static byte[] bytes(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 7);
        }
        return b;
    }

    @Test
    void encodeReportsEveryReferenceItHandsOffAndNoInlineTensor() {
        try (NDManager sender = NDManager.newBaseManager(); NDManager receiver = NDManager.newBaseManager()) {
            List<TensorRef> refs = new ArrayList<>();
            byte[] message = AUTO.encode(List.of(sender.create(bytes(2 * THRESHOLD)), sender.create(bytes(10)),
                    sender.create(bytes(3 * THRESHOLD))), refs::add);
            assertEquals(2, refs.size(), "one per stub, none for the inline tensor");
            assertEquals(2 * THRESHOLD, refs.get(0).byteSize());
            assertEquals(3 * THRESHOLD, refs.get(1).byteSize());
            assertEquals(2, ShmLeakCheck.fileCount());
            AUTO.decode(message, receiver);
        }
        assertEquals(0, ShmLeakCheck.fileCount());
    }

    @Test
    void recallingAHandoffNobodyTookRemovesTheSegmentAndALaterDecodeFailsClearly() {
        try (NDManager sender = NDManager.newBaseManager(); NDManager receiver = NDManager.newBaseManager()) {
            List<TensorRef> refs = new ArrayList<>();
            byte[] message = AUTO.encode(sender.create(bytes(2 * THRESHOLD)), refs::add);
            assertEquals(1, ShmLeakCheck.fileCount());
            TensorCodec.recallHandoff(refs.getFirst());
            assertEquals(0, ShmLeakCheck.fileCount(), "the only reference was in flight");
            TensorCodec.recallHandoff(refs.getFirst()); // the segment is gone: nothing to do
            assertThrows(MalformedMessageException.class, () -> AUTO.decode(message, receiver));
        }
    }

    @Test
    void recallingAHandoffADecoderTookChangesNothing() {
        try (NDManager sender = NDManager.newBaseManager(); NDManager receiver = NDManager.newBaseManager()) {
            List<TensorRef> refs = new ArrayList<>();
            byte[] message = AUTO.encode(sender.create(bytes(2 * THRESHOLD)), refs::add);
            NDArray view = (NDArray) AUTO.decode(message, receiver);
            TensorCodec.recallHandoff(refs.getFirst());
            assertEquals(1, ShmLeakCheck.fileCount(), "the decoder holds the segment");
            assertArrayEquals(bytes(2 * THRESHOLD), view.toByteArray());
        }
        assertEquals(0, ShmLeakCheck.fileCount(), "closing the decoder's manager released it");
    }

    @Test
    void aDecodeWithoutAManagerLeavesTheHandoffToTheNextDecode() {
        try (NDManager sender = NDManager.newBaseManager(); NDManager receiver = NDManager.newBaseManager()) {
            byte[] message = AUTO.encode(sender.create(bytes(2 * THRESHOLD)));
            assertThrows(IllegalArgumentException.class, () -> AUTO.decode(message, null));
            assertEquals(1, ShmLeakCheck.fileCount(), "still in flight");
            assertArrayEquals(bytes(2 * THRESHOLD), ((NDArray) AUTO.decode(message, receiver)).toByteArray());
        }
        assertEquals(0, ShmLeakCheck.fileCount());
    }

    @Test
    void copyStubsOnDecodeReleasesTheSegmentAtOnce() {
        TensorCodec copying = TensorCodec.builder().optMaxNbytes(THRESHOLD).optCopyStubsOnDecode(true).build();
        try (NDManager sender = NDManager.newBaseManager(); NDManager receiver = NDManager.newBaseManager()) {
            byte[] message = AUTO.encode(List.of(sender.create(bytes(10)), sender.create(bytes(2 * THRESHOLD))));
            List<?> back = (List<?>) copying.decode(message, receiver);
            assertEquals(0, ShmLeakCheck.fileCount(), "the stub's segment went while decoding");
            assertArrayEquals(bytes(10), ((NDArray) back.get(0)).toByteArray());
            assertArrayEquals(bytes(2 * THRESHOLD), ((NDArray) back.get(1)).toByteArray());
        }
    }
}
