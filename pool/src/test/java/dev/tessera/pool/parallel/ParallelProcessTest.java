package dev.tessera.pool.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.pool.ProcessLeakCheck;
import dev.tessera.pool.SerializableCallable;
import dev.tessera.pool.Signals;
import dev.tessera.pool.TaskFailedException;
import dev.tessera.pool.TaskTimeoutException;
import dev.tessera.pool.Worker;
import dev.tessera.pool.parallel.Parallel.Backend;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link Parallel} on worker JVMs: reuse, thread limits, nesting, and fail-fast with killed workers. */
@Tag("integration")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ParallelProcessTest {
    private static final int SHARE = Math.max(Runtime.getRuntime().availableProcessors() / 2, 1);

    @TempDir
    Path tmp;

    Parallel parallel;

    @BeforeAll
    void start() {
        parallel = Parallel.builder().optNJobs(2).optBackend(Backend.PROCESSES).build();
    }

    @AfterEach
    void noExtraWorkers() {
        ProcessLeakCheck.assertAtMost(2);
    }

    @AfterAll
    void stop() {
        parallel.close();
        ProcessLeakCheck.assertAtMost(0);
    }

    @Test
    void workerJvmsAreReusedAcrossCalls() {
        assertEquals(Backend.PROCESSES, parallel.backend());
        long self = ProcessHandle.current().pid();
        Set<Long> first = new HashSet<>(parallel.map((Integer x) -> ProcessHandle.current().pid(), List.of(1, 2, 3, 4)));
        Set<Long> second = new HashSet<>(parallel.map((Integer x) -> ProcessHandle.current().pid(), List.of(1, 2, 3, 4)));
        assertTrue(!first.contains(self), "tasks ran in worker JVMs");
        Set<Long> all = new HashSet<>(first);
        all.addAll(second);
        assertTrue(all.size() <= 2, "the same two JVMs served both calls: " + all);
    }

    @Test
    void workersGetInnerThreadLimits() {
        List<String> seen = parallel.map((String name) -> name.startsWith("ai.") ? System.getProperty(name)
                : System.getenv(name), List.of("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "ai.djl.pytorch.num_threads"));
        List<String> expected = new ArrayList<>();
        for (String name : List.of("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")) {
            expected.add(System.getenv(name) != null ? System.getenv(name) : String.valueOf(SHARE));
        }
        expected.add(String.valueOf(SHARE));
        assertEquals(expected, seen);
    }

    @Test
    void pyTorchInAWorkerUsesTheIntraOpThreadLimit() {
        List<Integer> threads = parallel.map((Integer x) -> {
            ai.djl.engine.Engine.getEngine("PyTorch"); // loads the engine, which reads ai.djl.pytorch.num_threads
            return ai.djl.pytorch.jni.JniUtils.getNumThreads();
        }, List.of(1, 2));
        assertEquals(List.of(SHARE, SHARE), threads, "PyTorch's intra-op pool in each worker JVM");
    }

    @Test
    void nestedParallelInAWorkerJvmUsesThreadsThenSequential() {
        List<String> seen = parallel.map((Integer x) -> {
            try (Parallel inner = Parallel.builder().optNJobs(-1).optBackend(Backend.PROCESSES).build()) {
                return Worker.nestingDepth() + ":" + inner.backend() + "x" + inner.nJobs();
            }
        }, List.of(1, 2));
        String expected = "1:" + (SHARE == 1 ? "SEQUENTIAL" : "THREADS") + "x" + SHARE;
        assertEquals(List.of(expected, expected), seen);
    }

    @Test
    void timeoutKillsTheStuckWorkerAndFailsTheCall() {
        String never = tmp.resolve("never-ends").toString();
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend(Backend.PROCESSES).optBatchSize(1)
                .optTimeout(Duration.ofSeconds(2)).build()) {
            // 2 s, not less: under load a quick task's first run (class loading in the worker) can take ~0.5 s
            assertEquals(List.of(1, 4), p.map((Integer x) -> x * x, List.of(1, 2)), "workers started");
            List<SerializableCallable<Integer>> tasks = List.of(() -> 1, () -> {
                Signals.await(never, 30_000);
                return 2;
            });
            long t0 = System.nanoTime();
            TaskTimeoutException e = assertThrows(TaskTimeoutException.class, () -> p.call(tasks));
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(15), "timed out long before the 30 s task ends");
            assertTrue(e.getMessage().contains("task #1") && e.getMessage().contains("2000 ms"), e.getMessage());
            assertEquals(List.of(9, 16), p.map((Integer x) -> x * x, List.of(3, 4)), "a replacement worker serves the next call");
        }
    }

    @Test
    void firstErrorKillsBlockedWorkersQuickly() {
        String never = tmp.resolve("never").toString();
        List<SerializableCallable<Integer>> tasks = new ArrayList<>();
        tasks.add(() -> {
            Signals.await(never, 30_000);
            return 0;
        });
        tasks.add(() -> {
            throw new UnsupportedOperationException("second task fails");
        });
        long t0 = System.nanoTime();
        TaskFailedException e = assertThrows(TaskFailedException.class, () -> parallel.call(tasks));
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10), "the blocked (30 s) worker did not delay the error");
        assertInstanceOf(UnsupportedOperationException.class, e.getCause());
        assertEquals(List.of(1, 4), parallel.map((Integer x) -> x * x, List.of(1, 2)), "usable afterwards");
    }
}
