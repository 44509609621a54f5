package dev.tessera.sharedmem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.tessera.sharedmem.testing.ChildJvm;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** A reader killed with kill -9 does not pin a segment while its owner lives. */
@Tag("integration")
@Timeout(120)
@ExtendWith(ShmLeakCheck.class)
class CrossJvmDeadHolderTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void theOwnersCloseRemovesASegmentWhoseOnlyOtherHolderWasKilled() throws Exception {
        Path dir = ShmLeakCheck.directory();
        SharedTensor owned = SharedTensor.allocate(DType.FLOAT32, 1024);
        Path file = dir.resolve(owned.ref().segmentName());
        try (ChildJvm reader = ChildJvm.start(dir, "hold", HEX.formatHex(owned.ref().toBytes()))) {
            reader.expect("HOLDING");
            assertEquals(List.of(ProcessHandle.current().pid(), reader.pid()),
                    SegmentReaper.list(dir).getFirst().attachedPids());
            reader.kill9();
            assertEquals(2, SegmentReaper.list(dir).getFirst().refCount(), "the dead reader's reference is counted");
            owned.close();
            assertFalse(Files.exists(file), "the owner's close discounted the dead reader and removed the segment");
        } finally {
            owned.close();
        }
    }

    @Test
    void aLiveReaderStillKeepsTheSegmentAfterTheOwnersClose() throws Exception {
        Path dir = ShmLeakCheck.directory();
        SharedTensor owned = SharedTensor.allocate(DType.FLOAT32, 16);
        Path file = dir.resolve(owned.ref().segmentName());
        String ref = HEX.formatHex(owned.ref().toBytes());
        try (ChildJvm dead = ChildJvm.start(dir, "hold", ref); ChildJvm live = ChildJvm.start(dir, "hold", ref)) {
            dead.expect("HOLDING");
            live.expect("HOLDING");
            dead.kill9();
            owned.close();
            assertTrue(Files.exists(file), "a live reader holds it");
            SegmentInfo info = SegmentReaper.list(dir).getFirst();
            assertEquals(1, info.refCount(), "only the live reader's reference is left");
            assertEquals(List.of(live.pid()), info.attachedPids());
            live.send("release");
            live.expect("RELEASED");
            assertEquals(0, live.waitExit());
            assertFalse(Files.exists(file), "the live reader's close was the last");
        } finally {
            owned.close();
        }
    }

    @Test
    void theReaperDiscountsADeadReaderWhileTheOwnerStillHoldsTheSegment() throws Exception {
        Path dir = ShmLeakCheck.directory();
        try (SharedTensor owned = SharedTensor.allocate(DType.INT8, 64)) {
            try (ChildJvm reader = ChildJvm.start(dir, "hold", HEX.formatHex(owned.ref().toBytes()))) {
                reader.expect("HOLDING");
                assertEquals(List.of(), SegmentReaper.reap(dir), "both alive");
                reader.kill9();
            }
            assertEquals(List.of(), SegmentReaper.reap(dir), "the owner lives: nothing is removed...");
            SegmentInfo info = SegmentReaper.list(dir).getFirst();
            assertEquals(1, info.refCount(), "...but the dead reader's reference is given back");
            assertEquals(List.of(ProcessHandle.current().pid()), info.attachedPids());
        }
        assertEquals(List.of(), SegmentReaper.list(dir), "so the owner's close was the last");
    }

    @Test
    void aReferenceTravellingInAMessageIsNotDiscounted() throws Exception {
        // a SHARE message's segment is held by the message alone (a pending handoff): the reaper, discounting a
        // killed reader, must leave that reference for the receiver
        Path dir = ShmLeakCheck.directory();
        TensorCodec codec = TensorCodec.builder().mode(TensorCodec.Mode.SHARE).build();
        try (NDManager manager = NDManager.newBaseManager()) {
            byte[] message = codec.encode(manager.create(new int[] {1, 2, 3, 4, 5, 6, 7, 8}));
            SegmentInfo sent = SegmentReaper.list(dir).getFirst();
            assertEquals(1, sent.refCount());
            assertEquals(List.of(), sent.attachedPids(), "no process holds it: the message does");
            TensorRef anyGeneration = new TensorRef(dir, sent.name(), 0, DType.INT32, new long[] {8}, 0, true);
            try (ChildJvm reader = ChildJvm.start(dir, "hold", HEX.formatHex(anyGeneration.toBytes()))) {
                reader.expect("HOLDING");
                reader.kill9();
            }
            assertEquals(2, SegmentReaper.list(dir).getFirst().refCount());
            assertEquals(List.of(), SegmentReaper.reap(dir));
            assertEquals(1, SegmentReaper.list(dir).getFirst().refCount(), "only the dead reader was discounted");
            try (NDManager receiver = NDManager.newBaseManager()) {
                NDArray received = (NDArray) codec.decode(message, receiver);
                assertEquals(36L, received.sum().getLong()); // DJL sums int32 into int64
            }
            assertEquals(List.of(), SegmentReaper.list(dir), "the receiver's close was the last");
        }
    }
}
