package dev.tessera.sharedmem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.tessera.sharedmem.internal.ReferenceOwner;
import java.nio.file.Files;
import java.nio.file.Path;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Every holder of a segment reference is a named owner that a test can ask for. */
@ExtendWith(ShmLeakCheck.class)
class ReferenceHoldersTest {

    @Test
    void handlesAndTensorsAreNamedOwnersOfOneReferenceEach() {
        try (SharedSegment s = SharedSegment.builder().setSize(64).build()) {
            assertEquals(List.of("SharedSegment handle"), s.holders());
            try (SharedTensor t = s.tensorAt(0, DType.INT32, 4); SharedSegment again = SharedSegment.open(s.name())) {
                assertEquals(List.of("SharedSegment handle", "SharedSegment handle", "SharedTensor"),
                        s.holders().stream().sorted().toList());
                assertEquals(3, s.refCountVolatile());
            }
            assertEquals(List.of("SharedSegment handle"), s.holders());
        }
    }

    @Test
    void aShareMessageHoldsItsReferenceUntilTheDecoderTakesItOver() throws Exception {
        TensorCodec share = TensorCodec.builder().mode(TensorCodec.Mode.SHARE).build();
        byte[] message;
        try (NDManager m = NDManager.newBaseManager()) {
            message = share.encode(m.create(new float[] {1, 2, 3}));
        }
        String name;
        try (Stream<Path> files = Files.list(SharedSegment.defaultDirectory())) {
            name = files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("tessera-"))
                    .reduce((x, y) -> { throw new AssertionError("two segments: " + x + ", " + y); }).orElseThrow();
        }
        try (SharedSegment watch = SharedSegment.open(name)) {
            assertEquals(List.of("SharedSegment handle", "a message in flight"), watch.holders());
            try (NDManager m = NDManager.newBaseManager()) {
                share.decode(message, m);
                assertEquals(List.of("SharedSegment handle", "SharedTensor"), watch.holders().stream().sorted().toList(),
                        "the decoder took over the message's reference");
            }
            assertEquals(List.of("SharedSegment handle"), watch.holders());
        }
    }

    @Test
    void aStagingPoolLendsItsSegmentToOneStagedCopyAtATime() {
        try (StagingPool pool = StagingPool.builder().build();
                SharedTensor source = SharedTensor.allocate(DType.INT32, 1000)) {
            TensorCodec codec = TensorCodec.builder().mode(TensorCodec.Mode.COPY).optStaging(pool).build();
            byte[] message = codec.encode(source);
            try (SharedTensor copy = (SharedTensor) codec.decode(message, null)) {
                try (SharedSegment watch = SharedSegment.open(copy.ref().segmentName())) {
                    assertEquals(List.of("SharedSegment handle", "SharedTensor", "StagingPool"),
                            watch.holders().stream().sorted().toList());
                }
            }
        }
    }

    @Test
    void closingHandsTheReferenceBackExactlyOnce() {
        SharedSegment s = SharedSegment.builder().setSize(64).build();
        SharedSegment other = SharedSegment.open(s.name());
        s.close();
        s.close(); // idempotent: the second close does not release again
        assertEquals(1, other.refCountVolatile());
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> other.lease().reference().release(s.lease().owner()));
        assertTrue(e.getMessage().contains("SharedSegment handle") && e.getMessage().contains(s.name()),
                e.getMessage());
        assertEquals(1, other.refCountVolatile());
        other.close();
        assertTrue(ReferenceOwner.IN_FLIGHT.referenceName().contains("message"));
    }
}
