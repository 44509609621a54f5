package dev.tessera.distributed.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.tessera.distributed.RpcGroup;
import dev.tessera.distributed.World;
import dev.tessera.distributed.testing.Await;
import dev.tessera.distributed.testing.MemberJvm;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The servers across three JVMs: this one (worker-0) and two children (worker-1, worker-2), one World for all the
 * tests (a World takes seconds to form on a loaded host).
 * <ul>
 *   <li>A hosted ordered server on worker-1, this JVM as a client: machin's push rules, the version depth, pulls of
 *       named versions, NDArray values as copies, the same data seen from the host, model push conflicts of a
 *       PushPullModelServer on it, and the helpers.
 *   <li>Gradient servers with this JVM as primary and client and the children as reducers; the model is a Linear
 *       2 -> 1 with known parameters, gradients are set to known constants, and the optimizer is SGD with learning
 *       rate 1, so every expected parameter is computed by hand: {@code w - sum} or {@code w - mean}. The last test
 *       kills a reducer.
 * </ul>
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ServersAcrossJvmsTest {
    private static final long WAIT = 30_000;
    private static MemberJvm r1;
    private static MemberJvm r2;
    private static World world;
    private static RpcGroup group;
    private static NDManager manager;
    private static OrderedServer server;

    @BeforeAll
    static void start() throws Exception {
        String coordinator = Await.freeCoordinator();
        CompletableFuture<World> joining = CompletableFuture.supplyAsync(() -> World.builder().setName("worker-0")
                .setRank(0).setWorldSize(3).optCoordinator(coordinator).optFailureTimeout(ServerTests.FAILURE_TIMEOUT)
                .build());
        r1 = MemberJvm.start(ServerMemberMain.class, 1, 3, coordinator, false, "hosted", "worker-1", "3");
        r2 = MemberJvm.start(ServerMemberMain.class, 2, 3, coordinator, false, "hosted", "worker-1", "3");
        world = joining.get(60, TimeUnit.SECONDS);
        group = world.createRpcGroup("g", world.members());
        server = OrderedServer.builder().setName("s").setGroup(group).optHost("worker-1").optVersionDepth(3).build();
        r1.expect("READY", 60);
        r2.expect("READY", 60);
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (server != null) {
                server.close();
            }
            for (MemberJvm r : new MemberJvm[] {r1, r2}) {
                if (r != null && r.process().isAlive()) {
                    assertEquals(0, r.exit(30));
                }
            }
        } finally {
            for (MemberJvm r : new MemberJvm[] {r1, r2}) {
                if (r != null) {
                    r.close();
                }
            }
            if (manager != null) {
                manager.close();
            }
            if (world != null) {
                world.close();
            }
        }
    }

    @Test
    void aNewKeyAlwaysSucceedsThenOnlyTheNewestVersionMayBeFollowed() {
        assertEquals(List.of("worker-1"), server.servers());
        assertTrue(server.push("a", "v7", 7, 123), "a new key: prevVersion is not checked");
        assertFalse(server.push("a", "x", 8, 6), "6 is not the newest version");
        assertTrue(server.push("a", "v3", 3, 7), "7 is the newest: version numbers need not increase");
        assertFalse(server.push("a", "x", 9, 7), "7 is no longer the newest");
        assertEquals("v3", server.pull("a"));
        assertEquals(new OrderedServer.Versioned<>(3, "v3"), server.pullNewest("a"));
    }

    @Test
    void keepsVersionDepthVersionsAndPullsANamedOne() {
        for (int v = 1; v <= 5; v++) {
            assertTrue(server.push("d", "v" + v, v, v - 1));
        }
        assertNull(server.pull("d", 1), "older than the depth of 3");
        assertNull(server.pull("d", 2), "older than the depth of 3");
        assertEquals("v3", server.pull("d", 3));
        assertEquals("v4", server.pull("d", 4));
        assertEquals("v5", server.pull("d", 5));
        assertNull(server.pull("d", 6), "never pushed");
        assertNull(server.pull("nothing-here"));
        assertNull(server.pull("nothing-here", 1));
        assertNull(server.pullIfNewer("d", 5), "5 is the newest");
        assertEquals(new OrderedServer.Versioned<>(5, "v5"), server.pullIfNewer("d", 4));
    }

    @Test
    void theHostSeesTheSameDataAndRules() throws Exception {
        assertTrue(server.push("h", "mine", 1, 0));
        r1.send("push h theirs 2 0");
        assertEquals("false", r1.expect("PUSH", 30), "0 is not the newest version");
        r1.send("push h theirs 2 1");
        assertEquals("true", r1.expect("PUSH", 30));
        r1.send("pull h 1");
        assertEquals("mine", r1.expect("PULL", 30));
        assertEquals("theirs", server.pull("h"));
    }

    @Test
    void ndArraysTravelAsCopies() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray w = m.create(new float[] {1, 2, 3});
            assertTrue(server.push("w", w, 1, 0));
            w.muli(10); // the stored value is a copy
            NDArray pulled = server.pull("w");
            try {
                assertEquals(m.create(new float[] {1, 2, 3}), pulled);
            } finally {
                pulled.close();
            }
        }
    }

    @Test
    void modelPushConflictsWithAndWithoutPullOnFail() {
        try (NDManager m = NDManager.newBaseManager()) {
            PushPullModelServer models = new PushPullModelServer(server, "model");
            Block a = Models.linear(m);
            Block b = Models.linear(m);
            Models.set(a, 1, 2, 3);
            Models.set(b, 7, 8, 9);
            assertTrue(models.push(a), "the first push of a new model");
            assertEquals(1, models.version(a));

            assertFalse(models.push(b, false), "b has version 0, the server 1");
            assertArrayEquals(new float[] {7, 8, 9}, Models.flat(b), "without pullOnFail b keeps its parameters");
            assertEquals(0, models.version(b));

            assertFalse(models.push(b, true));
            assertArrayEquals(new float[] {1, 2, 3}, Models.flat(b), "with pullOnFail b loaded version 1");
            assertEquals(1, models.version(b));

            Models.set(b, 4, 5, 6);
            assertTrue(models.push(b), "b follows version 1");
            assertEquals(2, models.version(b));
            assertTrue(models.pull(a), "version 2 is newer than a's 1");
            assertArrayEquals(new float[] {4, 5, 6}, Models.flat(a));
            assertFalse(models.pull(a), "nothing newer");
        }
    }

    @Test
    void helpersStartTheServersOnTheRightMembers() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            r1.send("models a,b");
            r2.send("models a,b");
            try (Servers.ModelServers models = Servers.modelServers(group, List.of("a", "b"))) {
                assertEquals("READY", r1.expect("MODELS", 60));
                assertEquals("READY", r2.expect("MODELS", 60));
                assertEquals(List.of("worker-0"), models.store().servers(), "hosted by the group's first member");
                Block a = Models.linear(m);
                Models.set(a, 1, 2, 3);
                assertTrue(models.get("a").push(a));
                r1.send("mpull a");
                assertEquals("1 [1.0, 2.0, 3.0]", r1.expect("MPULL", 30));
                assertThrows(IllegalArgumentException.class, () -> models.get("c"));
            }

            r1.send("grads x");
            r2.send("grads x");
            Block master = Models.linear(m);
            Models.set(master, 1, 2, 3);
            Map<String, PushPullGradServer> grads = Servers.gradServers(group, Map.of("x", master),
                    n -> Optimizer.sgd().setLearningRateTracker(Tracker.fixed(1f)).build());
            try (PushPullGradServer x = grads.get("x")) {
                assertEquals("READY", r1.expect("GRADS", 60));
                assertEquals("READY", r2.expect("GRADS", 60));
                r1.send("gpush x 2");
                assertEquals("1", r1.expect("GPUSH", 30), "the member pushed a gradient of model version 1");
                Await.until(() -> x.stats().applied() == 1, 30_000, "the primary (here) applying it");
                assertArrayEquals(new float[] {1 - 2, 2 - 2, 3 - 2}, Models.flat(master), "after the flush timer");
            }
        }
    }

    @Test
    void aChainOfPushesAndPullsRoundTrips() {
        long[] push = new long[300];
        long[] pull = new long[300];
        for (int v = 1; v <= 300; v++) {
            long t0 = System.nanoTime();
            assertTrue(server.push("rt", v, v, v - 1));
            long t1 = System.nanoTime();
            assertEquals(v, (Integer) server.pull("rt"));
            push[v - 1] = t1 - t0;
            pull[v - 1] = System.nanoTime() - t1;
        }
        System.out.printf("hosted ordered server in another JVM: push median %d us, pull median %d us (300 each)%n",
                median(push) / 1000, median(pull) / 1000);
    }

    static long median(long[] nanos) {
        long[] sorted = nanos.clone();
        java.util.Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> server.push("", "x", 1, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OrderedServer.builder().optVersionDepth(0));
        assertEquals("versionDepth=0 (expected >= 1)", e.getMessage());
    }

    /** Builds server {@code name} here (the primary, master parameters 1, 2, 3) and in both children. */
    private static PushPullGradServer server(String name, String method, int batch, long delayMillis, long staleness,
            String reducers) throws Exception {
        Block master = Models.linear(manager);
        Models.set(master, 1, 2, 3);
        return server(name, method, batch, delayMillis, staleness, reducers, master,
                Optimizer.sgd().setLearningRateTracker(Tracker.fixed(1f)).build());
    }

    /** Builds server {@code name} here (the primary, with this master model and optimizer) and in both children. */
    private static PushPullGradServer server(String name, String method, int batch, long delayMillis, long staleness,
            String reducers, Block master, Optimizer optimizer) throws Exception {
        String command = String.join(" ", "grad", name, method, Integer.toString(batch), Long.toString(delayMillis),
                Long.toString(staleness), reducers);
        r1.send(command);
        r2.send(command);
        PushPullGradServer s = PushPullGradServer.builder().setName(name).setGroup(group).setModel(master)
                .setOptimizer(optimizer)
                .optReduceMethod(PushPullGradServer.ReduceMethod.valueOf(method)).optReduceBatchSize(batch)
                .optMaxDelay(Duration.ofMillis(delayMillis)).optMaxStaleness(staleness)
                .optReducers(List.of(reducers.split(","))).build();
        assertEquals(name + " READY", r1.expect("GRAD ", 60));
        assertEquals(name + " READY", r2.expect("GRAD ", 60));
        return s;
    }

    /** A client Block, synchronised with the server's newest model. */
    private static Block client(PushPullGradServer s) {
        Block b = Models.linear(manager);
        assertTrue(s.pull(b));
        return b;
    }

    private static void push(PushPullGradServer s, Block b, float g) {
        Models.setGradients(b, g);
        s.push(b);
    }

    private static void awaitApplied(PushPullGradServer s, long n) {
        Await.until(() -> s.stats().applied() >= n, WAIT, n + " batches applied");
    }

    @Test
    @Order(1)
    void sumsAndMeansABatch() throws Exception {
        try (PushPullGradServer sum = server("sum", "SUM", 2, 60_000, 8, "worker-1")) {
            Block c = client(sum);
            assertArrayEquals(new float[] {1, 2, 3}, Models.flat(c));
            push(sum, c, 1f);
            push(sum, c, 3f);
            awaitApplied(sum, 1);
            assertTrue(sum.pull(c));
            assertArrayEquals(new float[] {1 - 4, 2 - 4, 3 - 4}, Models.flat(c), "w - (1 + 3)");
            assertEquals(2, sum.version(c));
        }
        try (PushPullGradServer mean = server("mean", "MEAN", 2, 60_000, 8, "worker-2")) {
            Block c = client(mean);
            push(mean, c, 1f);
            push(mean, c, 4f);
            awaitApplied(mean, 1);
            assertTrue(mean.pull(c));
            assertArrayEquals(new float[] {1 - 2.5f, 2 - 2.5f, 3 - 2.5f}, Models.flat(c), "w - (1 + 4) / 2");
            Await.until(() -> mean.stats("worker-2").batches() == 1, WAIT, "the reducer's count of batches");
            assertEquals(new PushPullGradServer.Stats(2, 1, 0, 0, 0, 2), mean.stats("worker-2"));
        }
    }

    @Test
    @Order(2)
    void theTimerFlushesAnIncompleteBatch() throws Exception {
        try (PushPullGradServer s = server("timer", "SUM", 4, 300, 8, "worker-1")) {
            Block c = client(s);
            long t0 = System.nanoTime();
            push(s, c, 2f);
            awaitApplied(s, 1);
            long millis = (System.nanoTime() - t0) / 1_000_000;
            System.out.printf("flush timer of 300 ms: one gradient applied after %d ms%n", millis);
            assertTrue(millis >= 250, "applied after " + millis + " ms: before the timer could fire");
            assertTrue(s.pull(c));
            assertArrayEquals(new float[] {1 - 2, 2 - 2, 3 - 2}, Models.flat(c));
        }
    }

    @Test
    @Order(3)
    void dropsAndCountsGradientsOlderThanMaxStaleness() throws Exception {
        try (PushPullGradServer s = server("stale", "SUM", 1, 60_000, 1, "worker-1")) {
            Block fresh = client(s);
            Block old = client(s); // version 1, never pulled again
            for (int i = 1; i <= 3; i++) {
                push(s, fresh, 1f);
                long n = i;
                Await.until(() -> s.stats("worker-1").batches() >= n, WAIT, n + " batches");
                assertTrue(s.pull(fresh));
            }
            assertEquals(4, s.version(fresh));
            assertEquals(1, s.version(old));
            push(s, old, 100f); // computed on version 1 < 4 - 1: dropped
            push(s, fresh, 1f); // a fresh one behind it is applied
            awaitApplied(s, 4);
            assertTrue(s.pull(fresh));
            assertArrayEquals(new float[] {1 - 4, 2 - 4, 3 - 4}, Models.flat(fresh), "four gradients of 1, not 100");
            PushPullGradServer.Stats reducer = s.stats("worker-1");
            assertEquals(5, reducer.received());
            assertEquals(1, reducer.droppedStale());
            assertEquals(4, s.stats().applied());
        }
    }

    @Test
    @Order(4)
    void pushesAndPullsLeaveNoArraysInTheClientsManager() throws Exception {
        try (PushPullGradServer s = server("arrays", "SUM", 1, 60_000, 8, "worker-1");
                NDManager own = NDManager.newBaseManager()) {
            Block c = Models.linear(own);
            assertTrue(s.pull(c));
            for (int i = 1; i <= 3; i++) {
                Models.setGradients(c, 1f);
                int before = own.getManagedArrays().size();
                s.push(c); // reads each gradient through a handle of its own, attached to the parameter's manager
                awaitApplied(s, i);
                assertTrue(s.pull(c));
                assertEquals(before, own.getManagedArrays().size(), "arrays left in the client's manager by push "
                        + i + " and the pull after it");
            }
        }
    }

    @Test
    @Order(5)
    void closeWaitsForTheBatchBeingAppliedSoTheModelsManagerMayBeClosed() throws Exception {
        BlockingSgd sgd = new BlockingSgd();
        try (NDManager own = NDManager.newBaseManager()) {
            Block master = Models.linear(own);
            Models.set(master, 1, 2, 3);
            PushPullGradServer s = server("closing", "SUM", 1, 60_000, 8, "worker-1", master, sgd);
            try {
                push(s, client(s), 1f);
                assertTrue(sgd.entered.await(WAIT, TimeUnit.MILLISECONDS), "the batch reached the optimizer");
                CompletableFuture<Boolean> closing = CompletableFuture.supplyAsync(() -> {
                    s.close();
                    return sgd.finished.get();
                });
                // a bounded check that close() is still waiting, not a synchronisation: the release comes after it
                assertThrows(TimeoutException.class, () -> closing.get(2, TimeUnit.SECONDS), "close() returned "
                        + "while the primary was applying a batch to the model");
                sgd.release.countDown();
                assertTrue(closing.get(WAIT, TimeUnit.MILLISECONDS), "the update had finished when close() returned");
            } finally {
                sgd.release.countDown();
                s.close();
            }
        } // the master's manager closes here: nothing may touch its arrays any more
    }

    /** SGD with learning rate 1 whose update waits for {@code release}, so that a test can act while it runs. */
    private static final class BlockingSgd extends Optimizer {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicBoolean finished = new AtomicBoolean();
        private final Optimizer sgd = Optimizer.sgd().setLearningRateTracker(Tracker.fixed(1f)).build();

        BlockingSgd() {
            super(new Builder());
        }

        @Override
        public void update(String parameterId, NDArray weight, NDArray grad) {
            entered.countDown();
            try {
                assertTrue(release.await(WAIT, TimeUnit.MILLISECONDS), "never released");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            sgd.update(parameterId, weight, grad);
            finished.set(true);
        }

        private static final class Builder extends OptimizerBuilder<Builder> {
            @Override
            protected Builder self() {
                return this;
            }
        }
    }

    @Test
    @Order(Integer.MAX_VALUE) // last: it kills a member
    void clientsMoveOnWhenAReducerIsKilled() throws Exception {
        PushPullGradServer s = server("kill", "SUM", 1, 60_000, 8, "worker-1,worker-2");
        try {
            Block c = client(s);
            push(s, c, 1f);
            awaitApplied(s, 1);
            String used = s.stats("worker-1").received() == 1 ? "worker-1" : "worker-2";
            MemberJvm victim = used.equals("worker-1") ? r1 : r2;
            victim.kill();
            for (int i = 2; i <= 4; i++) {
                assertTrue(s.pull(c));
                push(s, c, 1f);
                awaitApplied(s, i);
            }
            assertEquals(List.of(used), s.lostReducers(), "the dead reducer is reported");
            assertTrue(s.pull(c));
            assertArrayEquals(new float[] {1 - 4, 2 - 4, 3 - 4}, Models.flat(c), "every gradient after the kill "
                    + "was applied");
        } finally {
            s.close();
        }
    }
}
