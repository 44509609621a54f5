package dev.tessera.sharedmem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

/** kill -9 of owners and readers, then the reaper: nothing is left, and nothing live is taken. */
@Tag("integration")
@Timeout(120)
@ExtendWith(ShmLeakCheck.class)
class CrossJvmReaperTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void afterKill9OfOwnerAndReaderTheReaperLeavesNothing() throws Exception {
        Path dir = ShmLeakCheck.directory();
        try (ChildJvm owner = ChildJvm.start(dir, "create-and-hold", "1024")) {
            String ref = owner.expect("REF");
            try (ChildJvm reader = ChildJvm.start(dir, "hold", ref)) {
                reader.expect("HOLDING");
                SegmentInfo live = SegmentReaper.list(dir).getFirst();
                assertTrue(live.ownerAlive() && live.anyAttachedAlive());
                assertEquals(2, live.refCount());
                assertEquals(List.of(owner.pid(), reader.pid()), live.attachedPids());
                assertEquals(List.of(), SegmentReaper.reap(dir), "both processes are alive");

                owner.kill9();
                assertEquals(List.of(), SegmentReaper.reap(dir), "the reader is still alive");
                reader.kill9();
            }
            List<SegmentInfo> removed = SegmentReaper.reap(dir);
            assertEquals(1, removed.size());
            assertEquals(TensorRef.fromBytes(HEX.parseHex(ref)).segmentName(), removed.getFirst().name());
            assertEquals(List.of(), SegmentReaper.list(dir));
        }
    }

    @Test
    void aSurvivingReaderKeepsTheSegmentAndItsExitLetsTheReaperFinish() throws Exception {
        Path dir = ShmLeakCheck.directory();
        try (ChildJvm owner = ChildJvm.start(dir, "create-and-hold", "16")) {
            String ref = owner.expect("REF");
            try (ChildJvm reader = ChildJvm.start(dir, "hold", ref)) {
                reader.expect("HOLDING");
                owner.kill9();
                reader.send("release");
                reader.expect("RELEASED");
                assertEquals(0, reader.waitExit());
            }
            // the dead owner's reference was never dropped, so the reader's close could not unlink
            SegmentInfo orphan = SegmentReaper.list(dir).getFirst();
            assertTrue(orphan.orphaned());
            assertEquals(1, SegmentReaper.reap(dir).size());
        }
    }

    @Test
    void persistentSegmentOutlivesItsClosesUntilItsOwnerDies() throws Exception {
        Path dir = ShmLeakCheck.directory();
        String ref;
        try (ChildJvm owner = ChildJvm.start(dir, "create-persistent")) {
            ref = owner.expect("REF");
            assertEquals(0, owner.waitExit());
        }
        TensorRef stub = TensorRef.fromBytes(HEX.parseHex(ref));
        assertTrue(Files.exists(dir.resolve(stub.segmentName())), "persistent: the last close did not unlink");
        assertEquals(1, SegmentReaper.reap(dir).size(), "its owner exited, so it is orphaned");
        assertFalse(Files.exists(dir.resolve(stub.segmentName())));
    }

    @Test
    void liveSegmentsOfThisJvmAreNeverReaped() {
        try (SharedTensor mine = SharedTensor.allocate(DType.UINT8, 10)) {
            assertEquals(List.of(), SegmentReaper.reap(ShmLeakCheck.directory(), java.time.Duration.ZERO));
            assertTrue(mine.isOpen());
            assertEquals(1, SegmentReaper.list(ShmLeakCheck.directory()).size());
        }
    }
}
