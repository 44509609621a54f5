package dev.tessera.sharedmem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.sharedmem.testing.ChildJvm;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

@Timeout(120)
@ExtendWith(ShmLeakCheck.class)
class CrossJvmNamedSegmentTest {
    @Test
    void anotherJvmOpensANamedSegmentByItsName() throws Exception {
        try (SharedSegment s = SharedSegment.builder().setSize(64).optName("shared-counter").build()) {
            s.data().set(ValueLayout.JAVA_LONG, 0, 5);
            try (ChildJvm child = ChildJvm.start(ShmLeakCheck.directory(), "named-open-add-and-hold",
                    "shared-counter", "10")) {
                assertEquals("15 " + s.path(), child.expect("VALUE"));
                assertEquals(15, s.data().get(ValueLayout.JAVA_LONG, 0));
                child.send("release");
                assertEquals("", child.expect("RELEASED"));
                assertEquals(0, child.waitExit());
            }
        }
        assertEquals(0, ShmLeakCheck.fileCount());
    }

    @Test
    void aNamedSegmentOutlivesItsCreatorWhileAnotherProcessHoldsItThenIsReaped() throws Exception {
        Path dir = ShmLeakCheck.directory();
        try (ChildJvm creator = ChildJvm.start(dir, "named-create-and-hold", "orphaned")) {
            creator.expect("CREATED");
            try (ChildJvm holder = ChildJvm.start(dir, "named-open-add-and-hold", "orphaned", "1")) {
                assertTrue(holder.expect("VALUE").startsWith("8 "));
                creator.kill9();
                assertEquals(List.of(), SegmentReaper.reap(dir), "the holder is alive");
                try (SharedSegment s = SharedSegment.open("orphaned")) {
                    assertEquals(8, s.data().get(ValueLayout.JAVA_LONG, 0));
                }
                holder.kill9();
            }
        }
        List<SegmentInfo> removed = SegmentReaper.reap(dir);
        assertEquals(1, removed.size());
        assertEquals(SegmentInfo.Kind.NAMED, removed.getFirst().kind());
        assertEquals("orphaned", removed.getFirst().store());
        assertEquals(0, ShmLeakCheck.fileCount());
        assertThrows(java.io.UncheckedIOException.class, () -> SharedSegment.open("orphaned"));
        SharedSegment.builder().setSize(64).optName("orphaned").build().close(); // the name is free again
    }

    @Test
    void aNameTakenInAnotherJvmFailsHereAndIsFreeAfterThatJvmCloses() throws Exception {
        try (ChildJvm creator = ChildJvm.start(ShmLeakCheck.directory(), "named-create-and-hold", "busy")) {
            creator.expect("CREATED");
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> SharedSegment.builder().setSize(64).optName("busy").build());
            assertTrue(e.getMessage().contains("'busy' is taken"), e.getMessage());
            creator.send("release");
            creator.expect("RELEASED");
            assertEquals(0, creator.waitExit());
        }
        SharedSegment.builder().setSize(64).optName("busy").build().close();
    }
}
