package dev.tessera.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.example.usercode.Hostile;
import com.example.usercode.Hostile.Node;
import com.example.usercode.Hostile.When;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * No call hangs and no slot is lost: an {@code Error} while a task's arguments or result are encoded or
 * decoded, on either side, fails exactly that task; a worker that dies while idle is replaced before it
 * gets work. After each test the pool has its full number of live workers and works.
 */
@Tag("integration")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProcessPoolRobustnessTest {
    private static final Duration BOUND = Duration.ofSeconds(20);
    private static final int WORKERS = 2;

    ProcessPool pool;

    @BeforeAll
    void start() {
        pool = ProcessPool.builder().optWorkers(WORKERS).optName("robust").build();
    }

    @AfterEach
    void fullPoolThatWorks() throws Exception {
        awaitLiveWorkers(WORKERS, Set.of());
        List<AsyncResult<Long>> pids = new ArrayList<>();
        for (int i = 0; i < 4 * WORKERS; i++) {
            pids.add(pool.applyAsync((Integer x) -> ProcessHandle.current().pid(), i));
        }
        for (AsyncResult<Long> r : pids) {
            assertTrue(r.get(BOUND) > 0);
        }
        assertEquals(List.of(2, 4, 6), pool.map((Integer x) -> 2 * x, List.of(1, 2, 3), 1));
        assertEquals(WORKERS, workerPids().size());
    }

    @AfterAll
    void stop() {
        pool.close();
        ProcessLeakCheck.assertAtMost(0);
    }

    @Test
    void stackOverflowWhileEncodingADeepArgumentFailsOnlyThatTask() {
        Set<Long> before = workerPids();
        AsyncResult<Integer> r = pool.applyAsync((Node n) -> n.value(), Node.chain(200_000));
        TaskFailedException e = assertThrows(TaskFailedException.class, () -> r.get(BOUND));
        assertInstanceOf(StackOverflowError.class, e.getCause(), e.toString());
        assertTrue(e.getMessage().contains("arguments cannot be encoded"), e.getMessage());
        assertEquals(before, workerPids(), "no worker was harmed");
    }

    @Test
    void errorWhileDecodingTheResultInTheParentFailsOnlyThatTask() {
        Set<Long> before = workerPids();
        AsyncResult<Hostile> r = pool.applyAsync(Hostile.returning(When.READ_ASSERTION), 1);
        TaskFailedException e = assertThrows(TaskFailedException.class, () -> r.get(BOUND));
        assertInstanceOf(AssertionError.class, e.getCause(), e.toString());
        assertTrue(e.getMessage().contains("cannot be decoded in the parent"), e.getMessage());
        assertEquals(before, workerPids());
    }

    @Test
    void errorWhileDecodingTheArgumentsInTheWorkerFailsOnlyThatTask() {
        Set<Long> before = workerPids();
        AsyncResult<Integer> r = pool.applyAsync((Hostile h) -> 1, new Hostile(When.READ_STACK_OVERFLOW));
        TaskFailedException e = assertThrows(TaskFailedException.class, () -> r.get(BOUND));
        assertTrue(e.getMessage().contains("could not decode the arguments")
                && e.getMessage().contains("StackOverflowError"), e.getMessage());
        assertEquals(before, workerPids(), "the worker survived its own StackOverflowError");
    }

    @Test
    void errorWhileEncodingInEitherProcessFailsOnlyThatTask() {
        Set<Long> before = workerPids();
        AsyncResult<Integer> arg = pool.applyAsync((Hostile h) -> 1, new Hostile(When.WRITE));
        assertInstanceOf(AssertionError.class, assertThrows(TaskFailedException.class, () -> arg.get(BOUND)).getCause());
        AsyncResult<Hostile> result = pool.applyAsync(Hostile.returning(When.WRITE), 1);
        TaskFailedException e = assertThrows(TaskFailedException.class, () -> result.get(BOUND));
        assertTrue(e.getMessage().contains("cannot be sent back"), e.getMessage());
        AsyncResult<Object> deep = pool.applyAsync((Integer n) -> Node.chain(n), 200_000);
        assertThrows(TaskFailedException.class, () -> deep.get(BOUND), "a result too deep to encode in the worker");
        assertEquals(before, workerPids());
    }

    @Test
    void idleWorkerKilledIsReplacedBeforeItGetsWork() throws Exception {
        Set<Long> before = workerPids();
        long victim = before.iterator().next();
        ProcessHandle.of(victim).orElseThrow().destroyForcibly(); // SIGKILL while idle
        awaitLiveWorkers(WORKERS, Set.of(victim)); // the pool noticed on its own, no task involved
        List<AsyncResult<Integer>> results = IntStream.range(0, 8)
                .mapToObj(i -> pool.applyAsync((Integer x) -> x + 1, i)).toList();
        for (int i = 0; i < results.size(); i++) {
            assertEquals(i + 1, results.get(i).get(BOUND), "task " + i + " after the idle death");
        }
    }

    @Test
    void idleWorkerKilledJustBeforeASynchronousApplyDoesNotFailIt() throws Exception {
        // kill both workers and call as soon as they are dead: whichever way the race goes (the watcher
        // replaces the worker first, or the task is sent to the dead worker), the task runs on a replacement
        List<ProcessHandle> victims = ProcessLeakCheck.liveWorkers();
        victims.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle v : victims) {
            v.onExit().get(10, TimeUnit.SECONDS);
        }
        assertEquals(6, pool.<Integer, Integer>apply(x -> x * 2, 3));
        assertEquals(8, pool.<Integer, Integer>apply(x -> x * 2, 4));
    }

    /** Waits, bounded, until {@code n} workers are alive and none of {@code dead} is among them. */
    private static void awaitLiveWorkers(int n, Set<Long> dead) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        Set<Long> live = workerPids();
        while (live.size() != n || live.stream().anyMatch(dead::contains)) {
            assertFalse(System.nanoTime() > deadline, "live workers " + live + ", expected " + n + " without " + dead);
            Thread.sleep(5); // polling interval; the process table is the signal
            live = workerPids();
        }
    }

    private static Set<Long> workerPids() {
        return ProcessLeakCheck.liveWorkers().stream().map(ProcessHandle::pid).collect(Collectors.toSet());
    }
}
