package dev.tessera.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
}
