package dev.tessera.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.pool.parallel.Parallel;
import dev.tessera.pool.parallel.ParallelConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The shared thread pool (the shared process pool is not started here: it lives until the JVM exits). */
class PoolsTest {
    @Test
    void sharedThreadPoolIsASingletonThatIgnoresClose() {
        WorkerPool shared = Pools.threadPool();
        assertSame(shared, Pools.threadPool());
        shared.close();
        shared.terminate();
        assertTrue(shared.isOpen());
        assertEquals(List.of(2, 3), shared.map((Integer x) -> x + 1, List.of(1, 2)));
        assertEquals(Worker.cpuBudget(), shared.workers());
    }

    @Test
    @SuppressWarnings("try")
    void noParallelMakesTheSharedPoolsSequential() {
        Thread caller = Thread.currentThread();
        int before = ProcessLeakCheck.liveWorkers().size();
        try (ParallelConfig.Scope s = Parallel.noParallel()) {
            for (WorkerPool p : List.of(Pools.threadPool(), Pools.processPool(), Pools.refreshProcessPool())) {
                assertEquals(1, p.workers(), p.toString());
                assertEquals(List.of(true, true), p.map((Integer x) -> Thread.currentThread() == caller, List.of(1, 2)));
                p.close();
                assertTrue(p.isOpen(), "shared: close() is ignored");
            }
            assertSame(Pools.threadPool(), Pools.processPool(), "one shared sequential pool");
        }
        assertEquals(before, ProcessLeakCheck.liveWorkers().size(), "no worker JVM was started");
        assertNotSame(sequentialOutsideScope(), Pools.threadPool());
        assertEquals(Worker.cpuBudget(), Pools.threadPool().workers(), "the real thread pool once the scope closed");
    }

    private static WorkerPool sequentialOutsideScope() {
        try (ParallelConfig.Scope s = Parallel.noParallel()) {
            return Pools.threadPool();
        }
    }

    @Test
    void sharedAllowPatternsAreChecked() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Pools.optAllowPatterns("a b"));
        assertTrue(e.getMessage().contains("'a b'"), e.getMessage());
    }
}
