package dev.tessera.sharedmem.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.sharedmem.SegmentInfo;
import dev.tessera.sharedmem.SegmentReaper;
import ai.djl.ndarray.NDManager;
import dev.tessera.sharedmem.testing.ChildJvm;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** A {@link SharedStore} shared with real child JVMs, including ones that are killed with SIGKILL. */
@Tag("integration")
@Timeout(120)
@ExtendWith(ShmLeakCheck.class)
class CrossJvmStoreTest {

    @Test
    void aChildStartedLaterSeesTheValuesAndTheParentSeesWhatItWrote() throws Exception {
        try (SharedStore store = SharedStore.open("shared"); NDManager manager = NDManager.newBaseManager()) {
            store.put("w", manager.arange(4f));
            store.put("label", "hello");
            store.put("visits", 0);
            try (ChildJvm child = ChildJvm.start(ShmLeakCheck.directory(), "store-visit", "shared")) {
                assertEquals("6.0 hello", child.expect("SUM"));
                assertEquals("fromChild,label,visits,w", child.expect("KEYS"));
                assertEquals(0, child.waitExit(), child.stderrText());
            }
            assertArrayEquals(new float[] {5, 5, 5}, store.getNDArray("fromChild", manager).toFloatArray());
            assertEquals(1, store.get("visits", Integer.class));
        }
    }

    @Test
    void concurrentUpdatesFromTwoJvmsAndSeveralThreadsEndConsistent() throws Exception {
        int threads = 4;
        int increments = 150;
        try (SharedStore store = SharedStore.open("counted")) {
            store.put("counter", 0);
            try (ChildJvm child = ChildJvm.start(ShmLeakCheck.directory(), "store-count", "counted",
                    Integer.toString(threads), Integer.toString(increments))) {
                child.expect("READY");
                CyclicBarrier start = new CyclicBarrier(threads + 1);
                List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
                List<Thread> workers = StoreCounters.start(store, "parent", threads, increments, start, failures);
                child.send("go");
                start.await();
                for (Thread w : workers) {
                    w.join();
                }
                child.expect("DONE");
                assertEquals(0, child.waitExit(), child.stderrText());
                if (!failures.isEmpty()) {
                    throw new AssertionError(failures.getFirst());
                }
            }
            assertEquals(2 * threads * increments, store.get("counter", Integer.class), "no update was lost");
            assertEquals(1 + 2 * threads, store.size());
            for (int t = 0; t < threads; t++) {
                assertEquals(increments - 1, store.get("parent-" + t, Integer.class));
                assertEquals(increments - 1, store.get("child-" + t, Integer.class));
            }
        }
    }

    @Test
    void aWriterKilledInTheMiddleOfAChangeIsTakenOverAndTheIndexRepaired() throws Exception {
        Path dir = ShmLeakCheck.directory();
        try (SharedStore store = SharedStore.open("crash"); NDManager manager = NDManager.newBaseManager()) {
            store.put("victim", manager.ones(new ai.djl.ndarray.types.Shape(256)));
            store.put("bystander", 7);
            try (ChildJvm child = ChildJvm.start(dir, "store-crash-in-write", "crash", "victim")) {
                assertEquals(Long.toString(child.pid()), child.expect("LOCKED"));
                child.kill9();
            }
            // the reader finds the writer dead, takes its lock over and applies the change it had announced
            assertNull(store.get("victim"));
            assertEquals(7, store.get("bystander", Integer.class));
            store.put("after", 1);
            assertEquals(Set.of("after", "bystander"), store.keys());
            assertEquals(2, ShmLeakCheck.fileCount(), "the index and the victim's value (small values live in the index)");

            // the dead writer never released the victim's value; no process and no entry holds it now
            List<SegmentInfo> reaped = SegmentReaper.reap(dir);
            assertEquals(1, reaped.size(), reaped.toString());
            assertEquals(SegmentInfo.Kind.STORE_VALUE, reaped.getFirst().kind());
            assertEquals("crash", reaped.getFirst().store());
            assertEquals(1, ShmLeakCheck.fileCount());
        }
        // the killed child's handle on the index was reclaimed by the last live close: nothing is left
    }

    @Test
    void aReaderKilledWhileHoldingARemovedValueLeavesNothingAfterTheReaper() throws Exception {
        Path dir = ShmLeakCheck.directory();
        try (SharedStore store = SharedStore.open("held"); NDManager manager = NDManager.newBaseManager()) {
            store.put("w", manager.ones(new ai.djl.ndarray.types.Shape(4096)));
            try (ChildJvm child = ChildJvm.start(dir, "store-hold", "held", "w")) {
                assertEquals("16384", child.expect("HOLDING"));
                assertTrue(store.remove("w"));
                assertEquals(2, ShmLeakCheck.fileCount(), "the child still reads the removed value");
                assertEquals(List.of(), SegmentReaper.reap(dir), "the reader is alive");
                child.kill9();
            }
            List<SegmentInfo> reaped = SegmentReaper.reap(dir);
            assertEquals(1, reaped.size(), reaped.toString());
            assertEquals(SegmentInfo.Kind.STORE_VALUE, reaped.getFirst().kind());
            store.put("w", 2);
            assertEquals(2, store.get("w", Integer.class));
        }
    }

    @Test
    void aStoreWhoseProcessesAllDiedIsListedThenCollectedWithItsValues() throws Exception {
        Path dir = ShmLeakCheck.directory();
        try (ChildJvm child = ChildJvm.start(dir, "store-create-and-hold", "orphan")) {
            child.expect("READY");
            // what `./tessera shm ls` lists
            List<SegmentInfo> listing = SegmentReaper.list(dir);
            assertEquals(3, listing.size(), listing.toString());
            assertTrue(listing.stream().anyMatch(i -> i.kind() == SegmentInfo.Kind.STORE && "orphan".equals(i.store())
                    && i.name().equals(StoreFiles.fileName("orphan"))), listing.toString());
            assertEquals(2, listing.stream().filter(i -> i.kind() == SegmentInfo.Kind.STORE_VALUE
                    && "orphan".equals(i.store())).count(), listing.toString());
            assertEquals(List.of(), SegmentReaper.reap(dir), "its process is alive");
            child.kill9();
        }
        List<SegmentInfo> reaped = SegmentReaper.reap(dir);
        assertEquals(3, reaped.size(), reaped.toString());
        assertEquals(SegmentInfo.Kind.STORE, reaped.getFirst().kind(), "the index goes first, then its values");
        assertEquals(0, ShmLeakCheck.fileCount());
    }
}
