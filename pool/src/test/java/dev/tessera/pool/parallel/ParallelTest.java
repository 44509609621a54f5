package dev.tessera.pool.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.pool.SerializableCallable;
import dev.tessera.pool.TaskFailedException;
import dev.tessera.pool.TaskTimeoutException;
import dev.tessera.pool.Worker;
import dev.tessera.pool.parallel.Parallel.Backend;
import dev.tessera.pool.parallel.Parallel.ReturnAs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link Parallel} behaviours as joblib's own tests check them, on the sequential and thread backends. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ParallelTest {
    private static final int CPUS = Runtime.getRuntime().availableProcessors();

    private static List<SerializableCallable<Integer>> squares(int n) {
        List<SerializableCallable<Integer>> tasks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            tasks.add(Parallel.delayed((Integer x) -> x * x, i));
        }
        return tasks;
    }

    @Test
    void nJobsZeroIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Parallel.builder().optNJobs(0));
        assertTrue(e.getMessage().contains("nJobs=0"), e.getMessage());
    }

    @Test
    void negativeNJobsCountFromTheNumberOfCpus() {
        try (Parallel all = Parallel.builder().optNJobs(-1).optBackend(Backend.THREADS).build();
                Parallel allButOne = Parallel.builder().optNJobs(-2).optBackend(Backend.THREADS).build()) {
            assertEquals(CPUS, all.nJobs());
            assertEquals(Math.max(CPUS - 1, 1), allButOne.nJobs());
            assertEquals(CPUS - 1 <= 1 ? Backend.SEQUENTIAL : Backend.THREADS, allButOne.backend());
        }
    }

    @Test
    void oneJobRunsSequentiallyInTheCallingThread() {
        try (Parallel p = Parallel.builder().optNJobs(1).optBackend(Backend.PROCESSES).build()) {
            assertEquals(Backend.SEQUENTIAL, p.backend());
            Thread caller = Thread.currentThread();
            AtomicBoolean sameThread = new AtomicBoolean();
            p.call(List.of(() -> {
                sameThread.set(Thread.currentThread() == caller);
                return null;
            }));
            assertTrue(sameThread.get());
        }
    }

    @Test
    void hintsPickThreads() {
        try (Parallel shared = Parallel.builder().optNJobs(2).optRequire(Parallel.Require.SHAREDMEM).build();
                Parallel preferred = Parallel.builder().optNJobs(2).optPrefer(Parallel.Prefer.THREADS).build()) {
            assertEquals(Backend.THREADS, shared.backend());
            assertEquals(Backend.THREADS, preferred.backend());
        }
    }

    @Test
    void listReturnsResultsInSubmissionOrder() {
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend(Backend.THREADS).build()) {
            assertEquals(IntStream.range(0, 500).map(x -> x * x).boxed().toList(), p.call(squares(500)));
            assertEquals(List.of(2, 4, 6), p.map((Integer x) -> 2 * x, List.of(1, 2, 3)));
        }
    }

    @Test
    void autoBatchingGrowsOnTinyTasksAndResetsPerCall() {
        List<String> log = new CopyOnWriteArrayList<>();
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend(Backend.THREADS).optVerbose(10)
                .optProgressSink(log::add).build()) {
            List<Integer> out = p.call(squares(20_000));
            assertEquals(20_000, out.size());
            assertEquals(19_999 * 19_999, out.get(19_999));
            long grew = log.stream().filter(l -> l.contains("Batch computation too fast")).count();
            assertTrue(grew >= 1, "batch size grew on tiny tasks: " + log.subList(0, Math.min(5, log.size())));
            log.clear();
            p.call(squares(20_000));
            String first = log.stream().filter(l -> l.contains("Setting batch_size")).findFirst().orElseThrow();
            // the first adjustment of a call starts again from batch size 1: 2 * 1 * 0.2 / duration
            assertTrue(first.contains("too fast"), first);
        }
    }

    @Test
    void preDispatchBoundsTasksPulledAheadOfCompletion() throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        CountDownLatch fourPulled = new CountDownLatch(4);
        AtomicInteger completed = new AtomicInteger();
        AtomicBoolean overrun = new AtomicBoolean();
        AtomicInteger pulled = new AtomicInteger();
        Iterable<SerializableCallable<Integer>> tasks = () -> new Iterator<>() {
            @Override
            public boolean hasNext() {
                return pulled.get() < 40;
            }

            @Override
            public SerializableCallable<Integer> next() {
                int i = pulled.getAndIncrement();
                if (i >= 4 && completed.get() < i - 3) {
                    overrun.set(true); // "2*n_jobs" = 4 batches of 1 may be in flight, never more
                }
                fourPulled.countDown();
                return () -> {
                    go.await();
                    completed.incrementAndGet();
                    return i;
                };
            }
        };
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend(Backend.THREADS).optBatchSize(1).build()) {
            Thread consumer = new Thread(() -> p.call(tasks));
            consumer.start();
            assertTrue(fourPulled.await(10, TimeUnit.SECONDS));
            go.countDown();
            consumer.join(TimeUnit.SECONDS.toMillis(30));
            assertFalse(consumer.isAlive());
        }
        assertEquals(40, pulled.get());
        assertFalse(overrun.get(), "more than preDispatch tasks were pulled before earlier ones completed");
    }

    @Test
    void generatorYieldsLazilyInSubmissionOrder() {
        AtomicInteger pulled = new AtomicInteger();
        Iterable<SerializableCallable<Integer>> endless = () -> new Iterator<>() {
            @Override
            public boolean hasNext() {
                return true;
            }

            @Override
            public SerializableCallable<Integer> next() {
                int i = pulled.getAndIncrement();
                return () -> i;
            }
        };
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend(Backend.THREADS).optBatchSize(1)
                .optReturnAs(ReturnAs.GENERATOR).build()) {
            Iterator<Integer> it = p.iterate(endless);
            for (int i = 0; i < 10; i++) {
                assertEquals(i, it.next());
            }
            assertTrue(pulled.get() <= 10 + 4 + 1, "pulled " + pulled.get());
        }
    }

    @Test
    void generatorUnorderedYieldsInCompletionOrder() {
        CountDownLatch release = new CountDownLatch(1);
        List<SerializableCallable<Integer>> tasks = List.of(() -> {
            release.await();
            return 0;
        }, () -> 1);
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend(Backend.THREADS).optBatchSize(1)
                .optReturnAs(ReturnAs.GENERATOR_UNORDERED).build()) {
            Iterator<Integer> it = p.iterate(tasks);
            assertEquals(1, it.next());
            release.countDown();
            assertEquals(0, it.next());
            assertFalse(it.hasNext());
        }
    }

    @Test
    void timeoutFailsTheCallAndInterruptsTheTask() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        CountDownLatch interrupted = new CountDownLatch(1);
        List<SerializableCallable<Integer>> tasks = List.of(() -> 1, () -> {
            try {
                never.await();
            } catch (InterruptedException e) {
                interrupted.countDown();
            }
            return 2;
        });
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend(Backend.THREADS).optBatchSize(1)
                .optTimeout(Duration.ofSeconds(1)).build()) {
            long t0 = System.nanoTime();
            TaskTimeoutException e = assertThrows(TaskTimeoutException.class, () -> p.call(tasks));
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10), "timed out long before the task ends");
            assertTrue(e.getMessage().contains("task #1") && e.getMessage().contains("1000 ms"), e.getMessage());
            assertTrue(interrupted.await(5, TimeUnit.SECONDS), "the stuck task was interrupted");
            assertEquals(List.of(4), p.map((Integer x) -> x * x, List.of(2)), "workers are usable after a timeout");
        }
    }

    @Test
    void firstErrorAbortsTheRestQuickly() {
        CountDownLatch never = new CountDownLatch(1);
        AtomicInteger started = new AtomicInteger();
        List<SerializableCallable<Integer>> tasks = new ArrayList<>();
        tasks.add(() -> {
            throw new IllegalStateException("first task fails");
        });
        for (int i = 0; i < 50; i++) {
            tasks.add(() -> {
                started.incrementAndGet();
                never.await(30, TimeUnit.SECONDS);
                return 0;
            });
        }
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend(Backend.THREADS).optBatchSize(1).build()) {
            long t0 = System.nanoTime();
            TaskFailedException e = assertThrows(TaskFailedException.class, () -> p.call(tasks));
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10), "aborted long before the blocked tasks end");
            assertInstanceOf(IllegalStateException.class, e.getCause());
            assertEquals("first task fails", e.getCause().getMessage());
            assertTrue(started.get() <= 4, started.get() + " tasks started (at most preDispatch)");
        }
    }

    @Test
    void exceptionFromTheTaskIteratorIsRethrown() {
        Iterable<SerializableCallable<Integer>> broken = () -> new Iterator<>() {
            int i;

            @Override
            public boolean hasNext() {
                return true;
            }

            @Override
            public SerializableCallable<Integer> next() {
                if (i == 5) {
                    throw new IllegalStateException("generator broke at 5");
                }
                int v = i++;
                return () -> v;
            }
        };
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend(Backend.THREADS).optBatchSize(1).build()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.call(broken));
            assertEquals("generator broke at 5", e.getMessage());
        }
    }

    @Test
    void nestedParallelFallsBackWithoutAThreadBomb() {
        Set<String> inner = ConcurrentHashMap.newKeySet();
        Set<String> innermost = ConcurrentHashMap.newKeySet();
        try (Parallel outer = Parallel.builder().optNJobs(2).optBackend(Backend.THREADS).build()) {
            outer.call(List.of(() -> nested(inner, innermost), () -> nested(inner, innermost)));
        }
        int share = Math.max(CPUS / 2, 1);
        String expected = (share == 1 ? Backend.SEQUENTIAL : Backend.THREADS) + "x" + share;
        assertEquals(Set.of(expected), inner, "first level: threads limited to the worker's CPU share");
        assertEquals(Set.of("SEQUENTIALx1"), innermost, "second level: sequential");
    }

    private static Object nested(Set<String> inner, Set<String> innermost) {
        try (Parallel p = Parallel.builder().optNJobs(-1).optBackend(Backend.PROCESSES).build()) {
            inner.add(p.backend() + "x" + p.nJobs());
            p.call(List.of(() -> {
                try (Parallel q = Parallel.builder().optNJobs(-1).build()) {
                    innermost.add(q.backend() + "x" + q.nJobs());
                }
                return null;
            }));
        }
        return null;
    }

    @Test
    @SuppressWarnings("try")
    void configScopesNestAndRestore() {
        try (ParallelConfig.Scope outer = Parallel.config().optNJobs(2).optBackend(Backend.THREADS).apply()) {
            try (Parallel p = Parallel.builder().build()) {
                assertEquals(Backend.THREADS, p.backend());
                assertEquals(2, p.nJobs());
            }
            try (ParallelConfig.Scope inner = Parallel.config().optNJobs(1).apply();
                    Parallel p = Parallel.builder().build()) {
                assertEquals(Backend.SEQUENTIAL, p.backend());
            }
            try (Parallel explicit = Parallel.builder().optNJobs(3).build()) {
                assertEquals(3, explicit.nJobs(), "explicit values beat the scope");
            }
        }
        try (Parallel p = Parallel.builder().build()) {
            assertEquals(Backend.SEQUENTIAL, p.backend(), "joblib's default nJobs=1 once the scope is closed");
        }
    }

    @Test
    @SuppressWarnings("try")
    void noParallelForcesSequentialAndIsExceptionSafe() {
        assertThrows(IllegalStateException.class, () -> {
            try (ParallelConfig.Scope s = Parallel.noParallel()) {
                try (Parallel p = Parallel.builder().optNJobs(4).optBackend(Backend.THREADS).build()) {
                    assertEquals(Backend.SEQUENTIAL, p.backend());
                }
                throw new IllegalStateException("boom");
            }
        });
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend(Backend.THREADS).build()) {
            assertEquals(Backend.THREADS, p.backend(), "the scope ended with the exception");
        }
    }

    @Test
    void workersAreReusedAcrossCalls() {
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend(Backend.THREADS).optBatchSize(1).build()) {
            Set<String> first = new HashSet<>(p.map((Integer x) -> Worker.currentName(), List.of(1, 2, 3, 4)));
            Set<String> second = new HashSet<>(p.map((Integer x) -> Worker.currentName(), List.of(1, 2, 3, 4)));
            Set<String> all = new HashSet<>(first);
            all.addAll(second);
            assertTrue(all.size() <= 2, "the same two workers served both calls: " + all);
        }
    }

    @Test
    void verboseReportsJoblibStyleProgress() {
        List<String> log = new CopyOnWriteArrayList<>();
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend(Backend.THREADS).optBatchSize(1).optVerbose(5)
                .optProgressSink(log::add).build()) {
            p.call(squares(100));
        }
        assertTrue(log.get(0).contains("Using backend THREADS with 2 concurrent workers."), log.get(0));
        String last = log.get(log.size() - 1);
        assertTrue(last.matches("\\[Parallel\\(n_jobs=2\\)]: Done 100 out of 100 \\| elapsed: +[0-9.]+s remaining: +0\\.0s"),
                last);
        assertTrue(log.size() < 30, "verbose=5 thins the messages: " + log.size());
    }

    @Test
    void anExplicitBackendThatContradictsRequireIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Parallel.builder().optNJobs(2)
                .optBackend(Backend.PROCESSES).optRequire(Parallel.Require.SHAREDMEM).build());
        assertTrue(e.getMessage().contains("PROCESSES") && e.getMessage().contains("SHAREDMEM"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Parallel.builder().optNJobs(1)
                .optBackend("processes").optRequire(Parallel.Require.SHAREDMEM).build(), "whatever nJobs, as joblib");
        try (ParallelConfig.Scope s = Parallel.config().optBackend(Backend.PROCESSES).apply();
                Parallel p = Parallel.builder().optNJobs(2).optRequire(Parallel.Require.SHAREDMEM).build()) {
            assertEquals(Backend.THREADS, p.backend(), "a scope's backend is only a default: the hard constraint wins");
        }
    }

    @Test
    void sequentialStartsNoTaskAfterTheFirstFailure() {
        for (int batchSize : new int[] {0, 1, 10}) {
            AtomicInteger started = new AtomicInteger();
            List<SerializableCallable<Integer>> tasks = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                int n = i;
                tasks.add(() -> {
                    started.incrementAndGet();
                    if (n == 3) {
                        throw new IllegalStateException("task 3 fails");
                    }
                    return n;
                });
            }
            try (Parallel p = Parallel.builder().optNJobs(1).optBatchSize(batchSize).build()) {
                TaskFailedException e = assertThrows(TaskFailedException.class, () -> p.call(tasks));
                assertTrue(e.getMessage().startsWith("task #3 failed"), e.getMessage());
            }
            assertEquals(4, started.get(), "batchSize=" + batchSize + ": tasks started, up to the failing one");
        }
    }

    @Test
    @SuppressWarnings("try")
    void nestedParallelInASequentialTaskKeepsTheEnclosingConfiguration() {
        for (Backend configured : List.of(Backend.PROCESSES, Backend.THREADS)) {
            List<String> seen = new CopyOnWriteArrayList<>();
            try (ParallelConfig.Scope s = Parallel.config().optBackend(configured).optNJobs(2).apply();
                    Parallel outer = Parallel.builder().optNJobs(1).build()) {
                assertEquals(Backend.SEQUENTIAL, outer.backend());
                outer.call(List.of(() -> {
                    try (Parallel inner = Parallel.builder().build()) {
                        seen.add(Worker.nestingDepth() + ":" + inner.backend() + "x" + inner.nJobs());
                    }
                    return null;
                }));
            }
            assertEquals(List.of("0:" + configured + "x2"), seen, "joblib's test_nested_backend_in_sequential");
        }
        List<String> seen = new CopyOnWriteArrayList<>();
        try (Parallel outer = Parallel.builder().optNJobs(1).build()) {
            outer.call(List.of(() -> {
                try (Parallel inner = Parallel.builder().optNJobs(2).build()) {
                    seen.add(inner.backend() + "x" + inner.nJobs());
                }
                return null;
            }));
        }
        assertEquals(List.of("PROCESSES" + "x2"), seen, "no scope: the defaults, not a worker's fallback to threads");
    }

    @Test
    void theInitializerRunsWithItsArgumentsInEveryWorker() {
        Set<String> threadWorkers = ConcurrentHashMap.newKeySet();
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend(Backend.THREADS).optBatchSize(1)
                .optInitializer(args -> threadWorkers.add(Worker.currentName() + "/" + args[0] + args[1]), "a", 1).build()) {
            Set<String> ran = new HashSet<>(p.map((Integer x) -> Worker.currentName() + "/a1", IntStream.range(0, 50)
                    .boxed().toList()));
            assertTrue(threadWorkers.containsAll(ran), "initialized " + threadWorkers + ", ran on " + ran);
        }
        List<Object> sequential = new CopyOnWriteArrayList<>();
        try (Parallel p = Parallel.builder().optInitializer(args -> sequential.addAll(List.of(args)), "b", 2).build()) {
            p.map((Integer x) -> x, List.of(1, 2, 3));
            p.map((Integer x) -> x, List.of(4));
        }
        assertEquals(List.of("b", 2), sequential, "once, in the caller, for a sequential Parallel");
    }

    @Test
    void workerOptionsAreCheckedByTheirSetters() {
        Parallel.Builder b = Parallel.builder();
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b.optJvmOptions("Xmx1g")).getMessage()
                .contains("Xmx1g"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b.optAllowPatterns("com.example.**;!*"))
                .getMessage().contains("com.example.**;!*"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b.optInnerMaxNumThreads(0)).getMessage()
                .contains("innerMaxNumThreads=0"));
        assertThrows(NullPointerException.class, () -> b.optEnv("A", null));
        assertThrows(NullPointerException.class, () -> b.optInitializer(null));
        assertThrows(IllegalArgumentException.class, () -> Parallel.config().optAllowPatterns("*"));
        assertThrows(IllegalArgumentException.class, () -> b.optBackend(Backend.CUSTOM));
    }

    @Test
    void aClosedParallelThrows() {
        Parallel p = Parallel.builder().optNJobs(2).optBackend(Backend.THREADS).build();
        assertEquals(List.of(1), p.map((Integer x) -> x, List.of(1)));
        p.close();
        p.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.map((Integer x) -> x, List.of(1)));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @Test
    void aSecondCallRunsWhileAGeneratorOfTheFirstIsLive() {
        for (Backend backend : List.of(Backend.SEQUENTIAL, Backend.THREADS)) {
            try (Parallel p = Parallel.builder().optNJobs(backend == Backend.SEQUENTIAL ? 1 : 2).optBackend(backend)
                    .optBatchSize(1).optReturnAs(ReturnAs.GENERATOR).build()) {
                Iterator<Integer> first = p.iterate(squares(100));
                assertEquals(0, first.next());
                assertEquals(1, first.next());
                assertEquals(List.of(10, 20), p.map((Integer x) -> 10 * x, List.of(1, 2)), backend + ": second call");
                List<Integer> rest = new ArrayList<>();
                first.forEachRemaining(rest::add);
                assertEquals(IntStream.range(2, 100).map(x -> x * x).boxed().toList(), rest, backend + ": first call");
            }
        }
    }

    @Test
    void aFailedCallLeavesAnotherLiveGeneratorAlone() {
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend(Backend.THREADS).optBatchSize(1)
                .optReturnAs(ReturnAs.GENERATOR).build()) {
            Iterator<Integer> first = p.iterate(squares(50));
            assertEquals(0, first.next());
            List<SerializableCallable<Integer>> failing = List.of(() -> {
                throw new IllegalStateException("second call fails");
            });
            assertThrows(TaskFailedException.class, () -> p.call(failing));
            List<Integer> rest = new ArrayList<>();
            first.forEachRemaining(rest::add);
            assertEquals(IntStream.range(1, 50).map(x -> x * x).boxed().toList(), rest);
        }
    }
}
