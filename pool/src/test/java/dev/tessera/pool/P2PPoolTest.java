package dev.tessera.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** Addressing single workers of a {@link P2PPool}, their storage, and what a crash does to a worker's queue. */
@Tag("integration")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class P2PPoolTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    P2PPool pool;

    @BeforeAll
    void start() {
        pool = P2PPool.builder().optWorkers(2).optName("p2p-test").build();
    }

    @AfterEach
    void nothingLeaks() {
        ProcessLeakCheck.assertAtMost(pool.workers());
    }

    @AfterAll
    void stop() {
        pool.terminate();
        ProcessLeakCheck.assertAtMost(0);
    }

    private static long pid() {
        return ProcessHandle.current().pid();
    }

    private static int increment(String key) {
        return (Integer) Worker.storage().merge(key, 1, (a, b) -> (Integer) a + (Integer) b);
    }

    @Test
    void everyTaskRunsOnTheWorkerItWasSentTo() {
        List<Long> pids = pool.broadcast((Integer x) -> pid(), 0);
        assertEquals(2, new HashSet<>(pids).size(), "two worker JVMs: " + pids);
        List<AsyncResult<String>> results = new ArrayList<>();
        List<Integer> sentTo = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            int target = (i * 7 / 3) % 2; // an irregular pattern, not a round robin
            sentTo.add(target);
            results.add(pool.applyAsyncOn(target, (Integer x) -> Worker.currentSlot() + "/" + pid(), i));
        }
        for (int i = 0; i < results.size(); i++) {
            int target = sentTo.get(i);
            assertEquals(target + "/" + pids.get(target), results.get(i).get(WAIT), "task " + i);
        }
        assertEquals(pids.get(1), pool.<Long>applyOn(1, () -> pid()));
    }

    @Test
    void spreadWorkStillUsesEveryWorker() {
        List<Integer> slots = pool.map((Integer x) -> Worker.currentSlot(), java.util.Collections.nCopies(40, 0), 1);
        assertEquals(40, slots.size());
        assertTrue(slots.stream().allMatch(s -> s == 0 || s == 1), slots.toString());
    }

    @Test
    void storageIsPerWorkerAndKeptAcrossTasks() {
        String key = "storage-test";
        assertEquals(1, pool.<String, Integer>applyOn(0, P2PPoolTest::increment, key));
        assertEquals(2, pool.<String, Integer>applyOn(0, P2PPoolTest::increment, key));
        assertEquals(1, pool.<String, Integer>applyOn(1, P2PPoolTest::increment, key), "worker 1 has its own map");
        assertEquals(3, pool.<String, Integer>applyOn(0, P2PPoolTest::increment, key));
        assertEquals(List.of(4, 2), pool.broadcast(P2PPoolTest::increment, key));
    }

    @Test
    void crashOfAnAddressedWorkerFailsItsTaskAndItsQueueRunsOnTheReplacement() {
        String key = "crash-test";
        long before = pool.applyOn(0, (String k) -> pid() * 1_000 + increment(k), key) / 1_000;
        assertEquals(2, pool.<String, Integer>applyOn(0, P2PPoolTest::increment, key));
        long otherWorker = pool.applyOn(1, (String k) -> pid() * 1_000 + increment(k), key);

        // queued behind the crash on worker 0: they must run, in order, on its replacement
        AsyncResult<Object> crash = pool.applyAsyncOn(0, (Integer code) -> {
            Runtime.getRuntime().halt(code);
            return null;
        }, 3);
        AsyncResult<Long> first = pool.applyAsyncOn(0, (String k) -> pid() * 1_000 + increment(k), key);
        AsyncResult<Long> second = pool.applyAsyncOn(0, (String k) -> pid() * 1_000 + increment(k), key);

        WorkerCrashedException e = assertThrows(WorkerCrashedException.class, () -> crash.get(WAIT));
        assertTrue(e.getMessage().contains("p2p-test-worker-0"), e.getMessage());
        long after = first.get(WAIT) / 1_000;
        assertNotEquals(before, after, "a replacement JVM runs the queued task");
        assertEquals(after * 1_000 + 1, first.get(WAIT), "the replacement's storage starts empty");
        assertEquals(after * 1_000 + 2, second.get(WAIT), "the queue keeps its order on the replacement");
        assertEquals(otherWorker + 1, pool.applyOn(1, (String k) -> pid() * 1_000 + increment(k), key),
                "worker 1 and its storage are untouched");
    }

    @Test
    void badWorkerIndexNamesTheIndexAndThePoolSize() {
        for (int bad : new int[] {-1, 2}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> pool.applyOn(bad, (Integer x) -> x, 1));
            assertTrue(e.getMessage().contains("workerIndex=" + bad) && e.getMessage().contains("< 2"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> pool.applyAsyncOn(bad, (Integer x) -> x, 1));
        }
    }

    @Test
    void closedPoolRefusesAddressedTasksAndCloseRunsTheQueuedOnes() {
        P2PPool p = P2PPool.builder().optWorkers(2).optName("p2p-closing").build();
        List<AsyncResult<Integer>> queued = new ArrayList<>();
        try {
            for (int i = 0; i < 10; i++) {
                queued.add(p.applyAsyncOn(i % 2, (Integer x) -> x * 10 + Worker.currentSlot(), i));
            }
        } finally {
            p.close();
        }
        for (int i = 0; i < queued.size(); i++) {
            assertEquals(i * 10 + i % 2, queued.get(i).get(WAIT), "close ran queued task " + i + " on its worker");
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.applyOn(0, (Integer x) -> x, 1));
        assertTrue(e.getMessage().contains("p2p-closing") && e.getMessage().contains("closed"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> p.broadcast((Integer x) -> x, 1));
        assertThrows(IllegalStateException.class, () -> p.apply((Integer x) -> x, 1));
    }
}
