package dev.tessera.sharedmem;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.sharedmem.testing.ChildJvm;
import dev.tessera.sharedmem.testing.ChildMain;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Two JVMs with several threads each open and close handles at once; the count ends exact. */
@Tag("integration")
@Timeout(120)
@ExtendWith(ShmLeakCheck.class)
class CrossJvmRefCountTest {
    private static final int THREADS = 4;
    private static final int ITERATIONS = 300;
    private static final int HELD = 5;

    @Test
    void concurrentUpdatesFromTwoJvmsAndSeveralThreadsEndAtTheExactCount() throws Exception {
        try (SharedSegment segment = SharedSegment.builder().setSize(64).build();
                ChildJvm child = ChildJvm.start(ShmLeakCheck.directory(), "refcount", segment.name(),
                        Integer.toString(THREADS), Integer.toString(ITERATIONS), Integer.toString(HELD))) {
            CyclicBarrier ready = new CyclicBarrier(THREADS + 1);
            CyclicBarrier release = new CyclicBarrier(THREADS + 1);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> workers = new ArrayList<>();
            for (int i = 0; i < THREADS; i++) {
                workers.add(Thread.ofPlatform().start(() -> {
                    try {
                        ChildMain.RefCountWork.churnAndHold(segment.name(), ITERATIONS, HELD, ready, release);
                    } catch (Throwable t) {
                        failure.set(t);
                    }
                }));
            }
            ready.await();
            child.expect("HOLDING");
            assertEquals(1 + 2 * THREADS * HELD, segment.refCountVolatile());
            release.await();
            child.send("release");
            child.expect("DONE");
            assertEquals(0, child.waitExit(), child.stderrText());
            for (Thread w : workers) {
                w.join();
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertEquals(1, segment.refCountVolatile());
            assertEquals(List.of(ProcessHandle.current().pid()),
                    SegmentReaper.list(ShmLeakCheck.directory()).getFirst().attachedPids());
        }
    }
}
