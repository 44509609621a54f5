package dev.tessera.sharedmem;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(ShmLeakCheck.class)
class StagingPoolTest {

    private static TensorCodec copying(StagingPool pool) {
        return TensorCodec.builder().mode(TensorCodec.Mode.COPY).optStaging(pool).build();
    }

    @Test
    void aStagedCopyIsIndependentAndItsSegmentIsReusedOnceTheReceiverClosesIt() {
        try (StagingPool pool = StagingPool.builder().build(); SharedTensor source = SharedTensor.allocate(DType.INT32, 1000)) {
            source.segment().setAtIndex(ValueLayout.JAVA_INT, 7, 42);
            TensorCodec codec = copying(pool);
            byte[] first = codec.encode(source);
            assertTrue(first.length < 200, "a stub, not 4000 bytes: " + first.length);
            TensorRef firstRef;
            try (SharedTensor copy = (SharedTensor) codec.decode(first, null)) {
                firstRef = copy.ref();
                assertNotEquals(source.ref().segmentName(), firstRef.segmentName());
                assertEquals(42, copy.segment().getAtIndex(ValueLayout.JAVA_INT, 7));
                copy.segment().setAtIndex(ValueLayout.JAVA_INT, 7, -1);
                assertEquals(42, source.segment().getAtIndex(ValueLayout.JAVA_INT, 7), "the sender never sees it");
            }
            source.segment().setAtIndex(ValueLayout.JAVA_INT, 7, 43);
            try (SharedTensor again = (SharedTensor) codec.decode(codec.encode(source), null)) {
                assertEquals(firstRef.segmentName(), again.ref().segmentName(), "the free segment was reused");
                assertNotEquals(firstRef.generation(), again.ref().generation(), "with a new generation");
                assertEquals(43, again.segment().getAtIndex(ValueLayout.JAVA_INT, 7));
            }
            assertEquals(2, ShmLeakCheck.fileCount(), "the source and one staging segment");
        }
        assertEquals(0, ShmLeakCheck.fileCount());
    }

    @Test
    void aStubOfAReusedSegmentIsStale() {
        try (StagingPool pool = StagingPool.builder().build(); SharedTensor source = SharedTensor.allocate(DType.UINT8, 64)) {
            TensorCodec codec = copying(pool);
            byte[] old = codec.encode(source);
            ((SharedTensor) codec.decode(old, null)).close();
            byte[] current = codec.encode(source);
            MalformedMessageException e = assertThrows(MalformedMessageException.class, () -> codec.decode(old, null));
            InvalidTensorRefException stale = assertInstanceOf(InvalidTensorRefException.class, e.getCause());
            assertTrue(stale.getMessage().contains("stale") && stale.getMessage().contains("generation")
                    && e.getMessage().contains(stale.getMessage()), e.getMessage());
            ((SharedTensor) codec.decode(current, null)).close(); // the stale attempt gave everything back
        }
        assertEquals(0, ShmLeakCheck.fileCount());
    }

    @Test
    void aSegmentAReceiverStillHoldsIsNotReused() {
        try (StagingPool pool = StagingPool.builder().build(); SharedTensor source = SharedTensor.allocate(DType.UINT8, 4096)) {
            TensorCodec codec = copying(pool);
            try (SharedTensor held = (SharedTensor) codec.decode(codec.encode(source), null);
                    SharedTensor next = (SharedTensor) codec.decode(codec.encode(source), null)) {
                assertNotEquals(held.ref().segmentName(), next.ref().segmentName());
                assertEquals(2 * 4096, pool.pooledBytes(), "two segments: one per receiver");
            }
        }
        assertEquals(0, ShmLeakCheck.fileCount());
    }

    @Test
    void smallNdArraysTravelInsideTheMessageAndLargeOnesAreStaged() {
        try (StagingPool pool = StagingPool.builder().optMinTensorBytes(1024).build();
                NDManager sender = NDManager.newBaseManager(); NDManager receiver = NDManager.newBaseManager()) {
            TensorCodec codec = copying(pool);
            NDArray small = sender.ones(new Shape(16));
            NDArray large = sender.arange(1024f);
            byte[] message = codec.encode(List.of(small, large));
            assertEquals(1, ShmLeakCheck.fileCount(), "only the large one is staged");
            List<?> back = (List<?>) codec.decode(message, receiver);
            assertEquals(16f, ((NDArray) back.get(0)).sum().getFloat());
            assertArrayEquals(large.toFloatArray(), ((NDArray) back.get(1)).toFloatArray());
        }
        assertEquals(0, ShmLeakCheck.fileCount(), "the receiver's manager released the copy, the pool its segment");
    }

    @Test
    void overItsBudgetThePoolStagesInOneOffSegments() {
        try (StagingPool pool = StagingPool.builder().optMaxBytes(1000).build();
                SharedTensor source = SharedTensor.allocate(DType.UINT8, 4096)) {
            TensorCodec codec = copying(pool);
            try (SharedTensor copy = (SharedTensor) codec.decode(codec.encode(source), null)) {
                assertEquals(2, ShmLeakCheck.fileCount());
                assertEquals(0, pool.pooledBytes());
            }
            assertEquals(1, ShmLeakCheck.fileCount(), "a one-off segment goes with its receiver");
        }
    }

    @Test
    void closingThePoolLeavesCopiesWithTheirReceivers() {
        SharedTensor copy;
        try (SharedTensor source = SharedTensor.allocate(DType.INT64, 8)) {
            source.segment().setAtIndex(ValueLayout.JAVA_LONG, 0, 5);
            StagingPool pool = StagingPool.builder().build();
            TensorCodec codec = copying(pool);
            copy = (SharedTensor) codec.decode(codec.encode(source), null);
            pool.close();
            pool.close();
            assertThrows(IllegalStateException.class, () -> codec.encode(source));
        }
        assertEquals(5, copy.segment().getAtIndex(ValueLayout.JAVA_LONG, 0));
        assertEquals(1, ShmLeakCheck.fileCount());
        copy.close();
        assertEquals(0, ShmLeakCheck.fileCount());
    }

    @Test
    void aMessageThatFailsToGoOutGivesItsSegmentBack() {
        try (StagingPool pool = StagingPool.builder().build(); SharedTensor source = SharedTensor.allocate(DType.UINT8, 64)) {
            TensorCodec codec = copying(pool);
            WritableByteChannel broken = new WritableByteChannel() {
                @Override
                public int write(ByteBuffer src) throws IOException {
                    throw new IOException("peer went away");
                }

                @Override
                public boolean isOpen() {
                    return true;
                }

                @Override
                public void close() {}
            };
            assertThrows(java.io.UncheckedIOException.class, () -> codec.encode(source, broken));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            codec.encode(source, Channels.newChannel(out));
            try (SharedTensor copy = (SharedTensor) codec.decode(out.toByteArray(), null)) {
                assertEquals(64, copy.byteSize());
                assertEquals(2, ShmLeakCheck.fileCount(), "the recalled segment was free again and reused");
            }
        }
        assertEquals(0, ShmLeakCheck.fileCount());
    }

    @Test
    void builderChecksItsArguments() {
        assertThrows(IllegalArgumentException.class, () -> StagingPool.builder().optMaxBytes(-1));
        assertThrows(IllegalArgumentException.class, () -> StagingPool.builder().optMinTensorBytes(-1));
        assertThrows(IllegalArgumentException.class, () -> StagingPool.builder().optIdleTimeout(java.time.Duration.ZERO));
        assertThrows(NullPointerException.class, () -> TensorCodec.builder().optStaging(null));
    }
}
