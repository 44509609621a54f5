package dev.tessera.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The one contract every {@link WorkerPool} implementation passes. Subclasses say how to build a pool;
 * most tests share one pool per class (pools are reusable by contract), tests of the life cycle build
 * their own.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
abstract class PoolContractTest {
    static final List<String> CONTEXTS = List.of("ctx-a", "ctx-b");

    WorkerPool pool;

    @TempDir
    Path tmp;

    /** Builds a pool (two workers where the kind allows it) after applying {@code options}. */
    abstract WorkerPool newPool(Consumer<PoolOptions<?>> options);

    @BeforeAll
    void startSharedPool() {
        pool = newPool(o -> {});
    }

    @AfterAll
    void closeSharedPool() {
        if (pool != null) {
            pool.terminate();
        }
    }

    boolean concurrent() {
        return !(pool instanceof SequentialPool) && pool.workers() >= 2;
    }

    String file(String name) {
        return tmp.resolve(name).toString();
    }

    @Test
    void applyReturnsTheResult() {
        assertEquals(42, pool.<Integer, Integer>apply(x -> x * 2, 21));
        assertEquals("hi", pool.apply(() -> "hi"));
        assertEquals((Object) null, pool.<Object>apply(() -> null));
    }

    /** Collects the one outcome of a submitted batch. */
    static final class BatchOutcome implements BatchSubmitter.Listener {
        final CompletableFuture<Object[]> values = new CompletableFuture<>();
        final AtomicInteger outcomes = new AtomicInteger();

        @Override
        public void onResult(Object[] v) {
            outcomes.incrementAndGet();
            values.complete(v);
        }

        @Override
        public void onFailure(RuntimeException failure) {
            outcomes.incrementAndGet();
            values.completeExceptionally(failure);
        }
    }

    @Test
    void submitBatchRunsTheCallsInOrderAndReportsOnce() throws Exception {
        BatchOutcome outcome = new BatchOutcome();
        BatchSubmitter.Submission s = assertInstanceOf(BatchSubmitter.class, pool, "every pool").submitBatch(x -> (Integer) x * 10,
                new Object[] {1, 2, 3}, 7, outcome);
        assertEquals(List.of(10, 20, 30), Arrays.asList(outcome.values.get(30, TimeUnit.SECONDS)));
        assertEquals(1, outcome.outcomes.get());
        assertTrue(s.describe().contains("#7..9"), s.describe());
        assertTrue(s.startedNanos() > 0);
        assertFalse(s.cancel(new CancellationException("too late")), "a finished batch cannot be cancelled");
    }

    @Test
    void submitBatchReportsTheFirstFailingCallByItsIndex() {
        BatchOutcome outcome = new BatchOutcome();
        assertInstanceOf(BatchSubmitter.class, pool, "every pool").submitBatch(x -> {
            if ((Integer) x == 2) {
                throw new IllegalStateException("bad " + x);
            }
            return x;
        }, new Object[] {1, 2, 3}, 40, outcome);
        Exception e = assertThrows(java.util.concurrent.ExecutionException.class,
                () -> outcome.values.get(30, TimeUnit.SECONDS));
        TaskFailedException failure = assertInstanceOf(TaskFailedException.class, e.getCause());
        assertTrue(failure.getMessage().startsWith("task #41 failed in worker "), failure.getMessage());
        assertTrue(failure.getMessage().contains("IllegalStateException: bad 2"), failure.getMessage());
        assertEquals(1, outcome.outcomes.get());
    }

    @Test
    void applyAsyncRunsCallbackWithTheResult() {
        CompletableFuture<Integer> seen = new CompletableFuture<>();
        AsyncResult<Integer> r = pool.applyAsync((Integer x) -> x + 1, 1, seen::complete, seen::completeExceptionally);
        assertEquals(2, r.get(Duration.ofSeconds(30)));
        assertEquals(2, seen.join());
        assertTrue(r.ready());
        assertTrue(r.successful());
    }

    @Test
    void taskExceptionComesBackWithItsTypeAndRemoteStack() {
        CompletableFuture<Throwable> seen = new CompletableFuture<>();
        AsyncResult<Object> r = pool.applyAsync((Integer x) -> {
            throw new IllegalArgumentException("bad argument " + x);
        }, 7, v -> seen.complete(null), seen::complete);
        TaskFailedException e = assertThrows(TaskFailedException.class, r::get);
        assertInstanceOf(IllegalArgumentException.class, e.getCause());
        assertEquals("bad argument 7", e.getCause().getMessage());
        assertEquals(IllegalArgumentException.class.getName(), e.remoteType());
        assertTrue(e.getMessage().contains("task #0") && e.getMessage().contains("bad argument 7"), e.getMessage());
        boolean stackFromTask = Arrays.stream(e.getCause().getStackTrace())
                .anyMatch(f -> f.getMethodName().contains("taskExceptionComesBackWithItsTypeAndRemoteStack"));
        assertTrue(stackFromTask, "the cause carries the stack trace of the task that threw");
        assertFalse(r.successful());
        assertTrue(seen.join() instanceof TaskFailedException, "error callback receives the failure");
    }

    @Test
    void mapReturnsResultsInArgumentOrder() {
        List<Integer> args = IntStream.range(0, 100).boxed().toList();
        List<Integer> squares = args.stream().map(x -> x * x).toList();
        assertEquals(squares, pool.map((Integer x) -> x * x, args));
        assertEquals(squares, pool.map((Integer x) -> x * x, args, 1));
        assertEquals(squares, pool.map((Integer x) -> x * x, args, 7));
        assertEquals(List.of(), pool.map((Integer x) -> x, List.of()));
    }

    @Test
    void mapAsyncCallsBackWithTheList() {
        CompletableFuture<List<Integer>> seen = new CompletableFuture<>();
        AsyncResult<List<Integer>> r = pool.mapAsync((Integer x) -> -x, List.of(1, 2, 3), 0, seen::complete, null);
        assertEquals(List.of(-1, -2, -3), r.get());
        assertEquals(List.of(-1, -2, -3), seen.join());
    }

    @Test
    void mapFailsWithTheFailingTask() {
        TaskFailedException e = assertThrows(TaskFailedException.class, () -> pool.map((Integer x) -> {
            if (x == 13) {
                throw new IllegalStateException("unlucky " + x);
            }
            return x;
        }, IntStream.range(0, 40).boxed().toList(), 4));
        assertTrue(e.getMessage().contains("task #13"), e.getMessage());
        assertInstanceOf(IllegalStateException.class, e.getCause());
    }

    @Test
    void starmapUnpacksArgumentTuples() {
        List<Object[]> tuples = List.of(new Object[] {1, 2}, new Object[] {3, 4}, new Object[] {5, 6});
        assertEquals(List.of(3, 7, 11), pool.starmap(a -> (Integer) a[0] + (Integer) a[1], tuples));
        assertEquals(List.of("1-2", "3-4", "5-6"), pool.starmap(a -> a[0] + "-" + a[1], tuples, 2));
    }

    @Test
    void chunksizeKeepsEachChunkOnOneWorker() {
        List<String> names = pool.map((Integer x) -> Worker.currentName(), IntStream.range(0, 20).boxed().toList(), 5);
        for (int chunk = 0; chunk < 4; chunk++) {
            assertEquals(1, new HashSet<>(names.subList(chunk * 5, chunk * 5 + 5)).size(), names.toString());
        }
        assertThrows(IllegalArgumentException.class, () -> pool.map((Integer x) -> x, List.of(1), -1));
        assertThrows(IllegalArgumentException.class, () -> pool.imap((Integer x) -> x, List.of(1), 0));
    }

    @Test
    void imapYieldsInSubmissionOrder() {
        List<Integer> out = new ArrayList<>();
        pool.imap((Integer x) -> x + 1, IntStream.range(0, 50).boxed().toList(), 3).forEachRemaining(out::add);
        assertEquals(IntStream.range(1, 51).boxed().toList(), out);
    }

    @Test
    void imapPullsArgumentsLazily() {
        AtomicInteger pulled = new AtomicInteger();
        Iterable<Integer> endless = () -> new Iterator<>() {
            @Override
            public boolean hasNext() {
                return true;
            }

            @Override
            public Integer next() {
                return pulled.getAndIncrement();
            }
        };
        Iterator<Integer> it = pool.imap((Integer x) -> x * 10, endless, 2);
        for (int i = 0; i < 10; i++) {
            assertEquals(i * 10, it.next());
        }
        int bound = 10 + 2 * pool.workers() * 2 + 2;
        assertTrue(pulled.get() <= bound, "pulled " + pulled.get() + " arguments (expected <= " + bound + ")");
    }

    @Test
    void imapReportsAFailedItemAndGoesOn() {
        Iterator<Integer> it = pool.imap((Integer x) -> {
            if (x == 1) {
                throw new ArithmeticException("no " + x);
            }
            return x;
        }, List.of(0, 1, 2));
        assertEquals(0, it.next());
        assertInstanceOf(ArithmeticException.class, assertThrows(TaskFailedException.class, it::next).getCause());
        assertEquals(2, it.next());
        assertFalse(it.hasNext());
    }

    /** Yields 0, 1, 2, then throws at item 3, as a generator that breaks does. */
    static Iterable<Integer> breaksAtThree() {
        return () -> new Iterator<>() {
            int i;

            @Override
            public boolean hasNext() {
                return true;
            }

            @Override
            public Integer next() {
                if (i == 3) {
                    throw new IllegalStateException("source broke at item 3");
                }
                return i++;
            }
        };
    }

    @Test
    void imapYieldsTheResultsBeforeASourceFailureThenThrowsIt() {
        Iterator<Integer> it = pool.imap((Integer x) -> x * 10, breaksAtThree());
        assertEquals(0, it.next());
        assertEquals(10, it.next());
        assertEquals(20, it.next());
        assertTrue(it.hasNext(), "the source's failure is still to come");
        assertEquals("source broke at item 3", assertThrows(IllegalStateException.class, it::next).getMessage());
        assertFalse(it.hasNext(), "the iteration ends after the source's failure");
    }

    @Test
    void imapUnorderedYieldsTheResultsBeforeASourceFailureThenThrowsIt() {
        Iterator<Integer> it = pool.imapUnordered((Integer x) -> x * 10, breaksAtThree(), 2);
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 3; i++) {
            seen.add(it.next());
        }
        assertEquals(Set.of(0, 10, 20), seen);
        assertThrows(IllegalStateException.class, it::next);
        assertFalse(it.hasNext());
    }

    @Test
    void imapUnorderedYieldsInCompletionOrder() {
        assumeTrue(concurrent(), "needs two workers running at once");
        String released = file("released");
        Iterator<Integer> it = pool.imapUnordered((Integer x) -> {
            if (x == 0) {
                Signals.await(released, 20_000); // task 0 cannot finish before the test saw task 1's result
            }
            return x;
        }, List.of(0, 1));
        assertEquals(1, it.next());
        Signals.touch(released);
        assertEquals(0, it.next());
        assertFalse(it.hasNext());
    }

    @Test
    void getWithTimeoutFailsWhileTheTaskRuns() {
        assumeTrue(!(pool instanceof SequentialPool), "a sequential pool has finished before applyAsync returns");
        String go = file("go");
        AsyncResult<String> r = pool.applyAsync((String s) -> {
            Signals.await(s, 20_000);
            return "done";
        }, go);
        assertThrows(TaskTimeoutException.class, () -> r.get(Duration.ofMillis(50)));
        assertFalse(r.ready());
        assertThrows(IllegalStateException.class, r::successful);
        Signals.touch(go);
        assertEquals("done", r.get(Duration.ofSeconds(20)));
    }

    @Test
    void closeFinishesQueuedTasksAndRejectsNewOnes() {
        WorkerPool p = newPool(o -> {});
        List<AsyncResult<Integer>> results = new ArrayList<>();
        try {
            assertThrows(IllegalStateException.class, p::join, "join before close");
            for (int i = 0; i < 6; i++) {
                results.add(p.applyAsync((Integer x) -> x * 3, i));
            }
        } finally {
            p.close();
        }
        for (int i = 0; i < 6; i++) {
            assertTrue(results.get(i).ready());
            assertEquals(i * 3, results.get(i).get());
        }
        assertFalse(p.isOpen());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.apply(() -> 1));
        assertTrue(e.getMessage().contains(p.name()), e.getMessage());
        p.join();
        p.close(); // idempotent
        p.terminate();
    }

    @Test
    void terminateCancelsRunningAndQueuedTasks() throws Exception {
        assumeTrue(!(pool instanceof SequentialPool), "nothing runs in the background of a sequential pool");
        WorkerPool p = newPool(o -> {});
        try {
            String started = file("started");
            List<AsyncResult<String>> stuck = new ArrayList<>();
            for (int i = 0; i < p.workers() + 2; i++) {
                stuck.add(p.applyAsync((String s) -> {
                    Signals.touch(s);
                    Signals.await(s + ".never", 60_000);
                    return "finished";
                }, started));
            }
            Signals.await(started, 30_000);
            long t0 = System.nanoTime();
            p.terminate();
            for (AsyncResult<String> r : stuck) {
                assertThrows(CancellationException.class, () -> r.get(Duration.ofSeconds(5)));
            }
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), "terminate does not wait for tasks");
            assertFalse(p.isOpen());
            p.join();
        } finally {
            p.terminate();
        }
    }

    @Test
    void maxTasksPerChildReplacesWorkers() {
        WorkerPool p = newPool(o -> o.optMaxTasksPerChild(2));
        try {
            Set<String> names = new HashSet<>();
            for (int i = 0; i < 6; i++) {
                names.add(p.apply(() -> Worker.currentName()));
            }
            assertTrue(names.size() >= 3, "6 tasks with maxTasksPerChild=2 ran on " + names);
        } finally {
            p.close();
        }
    }

    @Test
    void workerStorageKeepsValuesAcrossTasksOfOneWorker() {
        String key = "count-" + System.nanoTime(); // the shared pool's workers may hold other tests' keys
        List<String> seen = pool.map((String k) -> Worker.currentName() + "=" + Worker.storage().merge(k, 1,
                (a, b) -> (Integer) a + (Integer) b), java.util.Collections.nCopies(20, key), 1);
        Map<String, List<Integer>> byWorker = new HashMap<>();
        for (String s : seen) {
            String[] parts = s.split("=");
            byWorker.computeIfAbsent(parts[0], n -> new ArrayList<>()).add(Integer.parseInt(parts[1]));
        }
        for (Map.Entry<String, List<Integer>> e : byWorker.entrySet()) {
            List<Integer> counts = e.getValue().stream().sorted().toList();
            assertEquals(IntStream.rangeClosed(1, counts.size()).boxed().toList(), counts,
                    "worker " + e.getKey() + " counted every task it ran in its own storage: " + seen);
        }
    }

    @Test
    void workerStorageStartsEmptyInAReplacementWorker() {
        WorkerPool p = newPool(o -> o.optMaxTasksPerChild(1));
        try {
            for (int i = 0; i < 4; i++) {
                assertEquals(1, p.<Integer>apply(() -> (Integer) Worker.storage().merge("n", 1,
                        (a, b) -> (Integer) a + (Integer) b)), "task " + i + " runs on a fresh worker");
            }
        } finally {
            p.close();
        }
    }

    @Test
    void workerStorageIsRefusedOutsideWorkers() {
        IllegalStateException e = assertThrows(IllegalStateException.class, Worker::storage);
        assertTrue(e.getMessage().contains("only available inside a pool worker"), e.getMessage());
    }

    @Test
    void initializerRunsOncePerWorker() {
        String log = file("init.log");
        WorkerPool p = newPool(o -> o.optInitializer(a -> Signals.appendLine((String) a[0], Worker.currentName()), log));
        List<String> ran;
        try {
            ran = p.map((Integer x) -> Worker.currentName(), IntStream.range(0, 40).boxed().toList(), 1);
        } finally {
            p.close();
        }
        List<String> inits = Signals.lines(log);
        assertEquals(p.workers(), inits.size(), "one initializer run per worker: " + inits);
        assertEquals(inits.size(), new HashSet<>(inits).size(), inits.toString());
        assertTrue(inits.containsAll(new HashSet<>(ran)), "every worker that ran tasks was initialized");
    }

    @Test
    void contextPoolGivesEachWorkerItsOwnContext() {
        assumeTrue(pool instanceof ContextPool<?>, "context pools only");
        @SuppressWarnings("unchecked")
        ContextPool<String> ctx = (ContextPool<String>) pool;
        List<String> seen = ctx.map((String c, Integer x) -> c + "@" + Worker.currentSlot(),
                IntStream.range(0, 20).boxed().toList(), 1);
        Map<String, String> bySlot = new HashMap<>();
        for (String s : seen) {
            String[] parts = s.split("@");
            assertEquals(CONTEXTS.get(Integer.parseInt(parts[1])), parts[0], "worker slot " + parts[1] + " got " + s);
            bySlot.put(parts[1], parts[0]);
        }
        String one = ctx.apply((String c, String x) -> c + x, "!");
        assertTrue(one.equals("ctx-a!") || one.equals("ctx-b!"), one);
        assertNotNull(bySlot);
    }

    /** Each result of a context task, "context@slot:payload", names a context that must be its worker's own. */
    private static void assertOwnContexts(List<String> results, List<String> payloads) {
        assertEquals(payloads.size(), results.size(), results.toString());
        for (int i = 0; i < results.size(); i++) {
            String[] parts = results.get(i).split("[@:]", 3);
            assertEquals(CONTEXTS.get(Integer.parseInt(parts[1])), parts[0], "slot " + parts[1] + " got " + results.get(i));
            assertEquals(payloads.get(i), parts[2], "result " + i + " out of order: " + results);
        }
    }

    @Test
    void contextPoolStarmapPassesTheContextThenTheUnpackedTuple() {
        assumeTrue(pool instanceof ContextPool<?>, "context pools only");
        @SuppressWarnings("unchecked")
        ContextPool<String> ctx = (ContextPool<String>) pool;
        List<Object[]> tuples = IntStream.range(0, 20).mapToObj(i -> new Object[] {i, "x" + i}).toList();
        List<String> expected = IntStream.range(0, 20).mapToObj(i -> (i * 2) + "x" + i).toList();
        ContextStarFunction<String, String> fn = (c, a) -> c + "@" + Worker.currentSlot() + ":" + ((Integer) a[0] * 2) + a[1];
        assertOwnContexts(ctx.starmap(fn, tuples), expected);
        assertOwnContexts(ctx.starmap(fn, tuples, 3), expected);
        CompletableFuture<List<String>> seen = new CompletableFuture<>();
        AsyncResult<List<String>> r = ctx.starmapAsync(fn, tuples, 0, seen::complete, seen::completeExceptionally);
        assertOwnContexts(r.get(Duration.ofSeconds(30)), expected);
        assertEquals(r.get(), seen.join(), "the callback receives the list");
        assertEquals(List.of(), ctx.starmap(fn, List.of()));
    }

    @Test
    void contextPoolStarmapFailsWithTheFailingTuple() {
        assumeTrue(pool instanceof ContextPool<?>, "context pools only");
        @SuppressWarnings("unchecked")
        ContextPool<String> ctx = (ContextPool<String>) pool;
        CompletableFuture<Throwable> seen = new CompletableFuture<>();
        AsyncResult<List<Integer>> r = ctx.starmapAsync((String c, Object... a) -> {
            if ((Integer) a[0] == 5) {
                throw new IllegalArgumentException("tuple " + a[0] + " in " + c);
            }
            return (Integer) a[0];
        }, IntStream.range(0, 8).mapToObj(i -> new Object[] {i}).toList(), 2, null, seen::complete);
        TaskFailedException e = assertThrows(TaskFailedException.class, r::get);
        assertTrue(e.getMessage().contains("task #5"), e.getMessage());
        assertInstanceOf(IllegalArgumentException.class, e.getCause());
        assertTrue(e.getCause().getMessage().startsWith("tuple 5 in ctx-"), e.getCause().getMessage());
        assertTrue(seen.join() instanceof TaskFailedException, "error callback receives the failure");
    }

    @Test
    void contextPoolAsyncCallsPassTheContext() {
        assumeTrue(pool instanceof ContextPool<?>, "context pools only");
        @SuppressWarnings("unchecked")
        ContextPool<String> ctx = (ContextPool<String>) pool;
        List<Integer> args = IntStream.range(0, 12).boxed().toList();
        ContextFunction<String, Integer, String> fn = (c, x) -> c + "@" + Worker.currentSlot() + ":" + (x + 1);
        List<String> expected = args.stream().map(x -> String.valueOf(x + 1)).toList();
        assertOwnContexts(ctx.mapAsync(fn, args).get(Duration.ofSeconds(30)), expected);
        CompletableFuture<List<String>> seen = new CompletableFuture<>();
        assertOwnContexts(ctx.mapAsync(fn, args, 5, seen::complete, null).get(), expected);
        assertOwnContexts(seen.join(), expected);
        assertOwnContexts(List.of(ctx.applyAsync(fn, 41).get(Duration.ofSeconds(30))), List.of("42"));
    }
}
