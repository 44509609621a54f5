package com.example.usercode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.pool.parallel.Parallel;
import dev.tessera.pool.parallel.ParallelConfig;
import dev.tessera.pool.SerializableCallable;
import dev.tessera.pool.TaskFailedException;
import dev.tessera.pool.TaskTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A backend registered from user code, as joblib's {@code register_parallel_backend} is used. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UserBackendTest {
    @BeforeAll
    static void register() {
        Parallel.registerBackend("user-executor", () -> new ExecutorBackend(true));
        Parallel.registerBackend("user-remote", () -> new ExecutorBackend(false));
    }

    private static ExecutorBackend lastCreated() {
        return ExecutorBackend.CREATED.get(ExecutorBackend.CREATED.size() - 1);
    }

    @Test
    void parallelRunsItsBatchesOnTheRegisteredBackend() {
        Set<String> threads = ConcurrentHashMap.newKeySet();
        ExecutorBackend backend;
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend("user-executor").build()) {
            backend = lastCreated();
            assertEquals(Parallel.Backend.CUSTOM, p.backend());
            assertEquals("user-executor", p.backendName());
            assertEquals(2, p.nJobs());
            List<Integer> out = p.map((Integer x) -> {
                threads.add(Thread.currentThread().getName());
                return x * x;
            }, IntStream.range(0, 2_000).boxed().toList());
            assertEquals(IntStream.range(0, 2_000).map(x -> x * x).boxed().toList(), out);
            assertEquals(2, backend.settings.nJobs(), "configured with the effective nJobs");
            assertEquals(2_000, backend.tasks.get(), "every task went through the backend");
            assertTrue(backend.batches.get() < 2_000, "auto-batching grouped tasks: " + backend.batches.get() + " batches");
            assertTrue(threads.stream().allMatch(t -> t.startsWith(ExecutorBackend.THREAD_PREFIX)), threads.toString());
            assertEquals(List.of(3), p.map((Integer x) -> x + 1, List.of(2)), "the backend serves later calls");
            assertEquals(0, backend.closes.get());
        }
        assertEquals(1, backend.closes.get(), "Parallel.close() closes the backend it owns");
    }

    @Test
    void aFailureCancelsTheCallAndAbortsTheBackend() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch interrupted = new CountDownLatch(1);
        List<SerializableCallable<Integer>> tasks = new ArrayList<>();
        tasks.add(() -> {
            started.countDown();
            try {
                never.await();
            } catch (InterruptedException e) {
                interrupted.countDown();
            }
            return 0;
        });
        tasks.add(() -> {
            assertTrue(started.await(10, TimeUnit.SECONDS), "the first task started");
            throw new IllegalStateException("second task fails");
        });
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend("user-executor").optBatchSize(1).build()) {
            TaskFailedException e = assertThrows(TaskFailedException.class, () -> p.call(tasks));
            assertInstanceOf(IllegalStateException.class, e.getCause());
            assertTrue(e.getMessage().contains("task #1") && e.getMessage().contains(ExecutorBackend.THREAD_PREFIX),
                    e.getMessage());
            assertTrue(interrupted.await(10, TimeUnit.SECONDS), "the blocked task was interrupted");
            assertEquals(1, lastCreated().aborts.get(), "abortEverything() after the failed call");
            assertEquals(List.of(5), p.map((Integer x) -> x + 1, List.of(4)), "usable afterwards");
        }
    }

    @Test
    void timeoutsAreEnforcedOnABackendThatSupportsThem() {
        CountDownLatch never = new CountDownLatch(1);
        List<SerializableCallable<Integer>> tasks = List.of(() -> {
            never.await();
            return 0;
        });
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend("user-executor")
                .optTimeout(Duration.ofMillis(200)).build()) {
            TaskTimeoutException e = assertThrows(TaskTimeoutException.class, () -> p.call(tasks));
            assertTrue(e.getMessage().contains("task #0"), e.getMessage());
        }
    }

    @Test
    void workerOptionsReachTheBackendWithTheScopesAllowPatterns() {
        AtomicInteger initialized = new AtomicInteger();
        try (ParallelConfig.Scope scope = Parallel.config().optAllowPatterns("org.scope.**").apply();
                Parallel p = Parallel.builder().optNJobs(3).optBackend("user-executor")
                        .optAllowPatterns("com.example.**").optEnv("A", "1").optJvmOptions("-Xmx1g")
                        .optInnerMaxNumThreads(2).optInitializer(args -> initialized.incrementAndGet(), "x", 7).build()) {
            p.map((Integer x) -> x, List.of(1));
            ExecutorBackend.Settings s = lastCreated().settings;
            assertEquals(List.of("com.example.**", "org.scope.**"), s.allowPatterns());
            assertEquals(java.util.Map.of("A", "1"), s.env());
            assertEquals(List.of("-Xmx1g"), s.jvmOptions());
            assertEquals(2, s.innerMaxNumThreads());
            assertEquals(List.of("x", 7), s.initArgs());
            assertTrue(s.initializer() != null);
        }
    }

    @Test
    void aBackendThatRunsTheTasksElsewhereReportsThroughTheBatch() {
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend("user-remote").build()) {
            assertEquals(IntStream.range(0, 500).map(x -> 3 * x).boxed().toList(),
                    p.map((Integer x) -> 3 * x, IntStream.range(0, 500).boxed().toList()));
            assertEquals(500, lastCreated().tasks.get());
            List<SerializableCallable<Integer>> failing = List.of(() -> 1, () -> {
                throw new java.io.IOException("remote task fails");
            });
            TaskFailedException e = assertThrows(TaskFailedException.class, () -> p.call(failing));
            assertInstanceOf(java.io.IOException.class, e.getCause());
            assertTrue(e.getMessage().contains("failed in backend worker " + ExecutorBackend.THREAD_PREFIX), e.getMessage());
        }
    }

    @Test
    void aNamedBackendThatContradictsRequireIsAnError() {
        int before = ExecutorBackend.CREATED.size();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Parallel.builder()
                .optNJobs(2).optBackend("user-remote").optRequire(Parallel.Require.SHAREDMEM).build());
        assertTrue(e.getMessage().contains("'user-remote'") && e.getMessage().contains("SHAREDMEM"), e.getMessage());
        assertEquals(1, ExecutorBackend.CREATED.get(before).closes.get(), "the rejected instance was closed");
    }

    @Test
    void aScopeSelectsTheBackendByName() {
        try (ParallelConfig.Scope scope = Parallel.config().optBackend("user-executor").optNJobs(2).apply();
                Parallel p = Parallel.builder().build()) {
            assertEquals("user-executor", p.backendName());
            assertEquals(List.of(2), p.map((Integer x) -> x * 2, List.of(1)));
        }
    }

    @Test
    void namesAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> Parallel.registerBackend("threads", () -> new ExecutorBackend(true)));
        assertThrows(IllegalArgumentException.class, () -> Parallel.registerBackend("bad name", () -> new ExecutorBackend(true)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Parallel.builder().optBackend("nope"));
        assertTrue(e.getMessage().contains("'nope'") && e.getMessage().contains("user-executor"), e.getMessage());
    }
}
