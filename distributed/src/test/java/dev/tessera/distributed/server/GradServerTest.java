package dev.tessera.distributed.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Gradient servers with this JVM (worker-0) as primary and client and two child JVMs (worker-1, worker-2) as
 * reducers; the model is a Linear 2 -> 1 with known parameters, gradients are set to known constants, and the
 * optimizer is SGD with learning rate 1, so every expected parameter is computed by hand: {@code w - sum} or
 * {@code w - mean}. The last test kills a reducer.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GradServerTest {
    private static final long WAIT = 30_000;
    private static MemberJvm r1;
    private static MemberJvm r2;
    private static World world;
    private static RpcGroup group;
    private static NDManager manager;

    @BeforeAll
    static void start() throws Exception {
        String coordinator = Await.freeCoordinator();
        CompletableFuture<World> joining = CompletableFuture.supplyAsync(() -> World.builder().setName("worker-0")
                .setRank(0).setWorldSize(3).optCoordinator(coordinator).optFailureTimeout(ServerTests.FAILURE_TIMEOUT)
                .build());
        r1 = MemberJvm.start(ServerMemberMain.class, 1, 3, coordinator, false, "none");
        r2 = MemberJvm.start(ServerMemberMain.class, 2, 3, coordinator, false, "none");
        world = joining.get(60, TimeUnit.SECONDS);
        group = world.createRpcGroup("g", world.members());
        r1.expect("READY", 60);
        r2.expect("READY", 60);
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void stop() throws Exception {
        try {
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

    /** Builds server {@code name} here (the primary, master parameters 1, 2, 3) and in both children. */
    private static PushPullGradServer server(String name, String method, int batch, long delayMillis, long staleness,
            String reducers) throws Exception {
        String command = String.join(" ", "grad", name, method, Integer.toString(batch), Long.toString(delayMillis),
                Long.toString(staleness), reducers);
        r1.send(command);
        r2.send(command);
        Block master = Models.linear(manager);
        Models.set(master, 1, 2, 3);
        PushPullGradServer s = PushPullGradServer.builder().setName(name).setGroup(group).setModel(master)
                .setOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(1f)).build())
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
