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
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A hosted ordered server in a child JVM (worker-1) and this JVM (worker-0) as a client: machin's push rules, the
 * version depth, pulls of named versions, NDArray values as copies, the same data seen from the host, and model
 * push conflicts of a PushPullModelServer on it.
 */
class HostedServerTest {
    private static MemberJvm host;
    private static World world;
    private static OrderedServer server;
    private static RpcGroup group;

    @BeforeAll
    static void start() throws Exception {
        String coordinator = Await.freeCoordinator();
        CompletableFuture<World> joining = CompletableFuture.supplyAsync(() -> World.builder().setName("worker-0")
                .setRank(0).setWorldSize(2).optCoordinator(coordinator).optFailureTimeout(ServerTests.FAILURE_TIMEOUT).build());
        host = MemberJvm.start(ServerMemberMain.class, 1, 2, coordinator, false, "hosted", "worker-1", "3");
        world = joining.get(60, TimeUnit.SECONDS);
        group = world.createRpcGroup("g", world.members());
        server = OrderedServer.builder().setName("s").setGroup(group).optHost("worker-1").optVersionDepth(3).build();
        host.expect("READY", 60);
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (server != null) {
                server.close();
            }
            if (host != null) {
                assertEquals(0, host.exit(30));
            }
        } finally {
            if (host != null) {
                host.close();
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
        host.send("push h theirs 2 0");
        assertEquals("false", host.expect("PUSH", 30), "0 is not the newest version");
        host.send("push h theirs 2 1");
        assertEquals("true", host.expect("PUSH", 30));
        host.send("pull h 1");
        assertEquals("mine", host.expect("PULL", 30));
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
            host.send("models a,b");
            try (Servers.ModelServers models = Servers.modelServers(group, List.of("a", "b"))) {
                assertEquals("READY", host.expect("MODELS", 60));
                assertEquals(List.of("worker-0"), models.store().servers(), "hosted by the group's first member");
                Block a = Models.linear(m);
                Models.set(a, 1, 2, 3);
                assertTrue(models.get("a").push(a));
                host.send("mpull a");
                assertEquals("1 [1.0, 2.0, 3.0]", host.expect("MPULL", 30));
                assertThrows(IllegalArgumentException.class, () -> models.get("c"));
            }

            host.send("grads x");
            Block master = Models.linear(m);
            Models.set(master, 1, 2, 3);
            Map<String, PushPullGradServer> grads = Servers.gradServers(group, Map.of("x", master),
                    n -> Optimizer.sgd().setLearningRateTracker(Tracker.fixed(1f)).build());
            try (PushPullGradServer x = grads.get("x")) {
                assertEquals("READY", host.expect("GRADS", 60));
                host.send("gpush x 2");
                assertEquals("1", host.expect("GPUSH", 30), "the member pushed a gradient of model version 1");
                Await.until(() -> x.stats().applied() == 1, 30_000, "the primary (here) applying it");
                assertArrayEquals(new float[] {1 - 2, 2 - 2, 3 - 2}, Models.flat(master), "after the flush timer");
            }
        }
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> server.push("", "x", 1, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OrderedServer.builder().optVersionDepth(0));
        assertEquals("versionDepth=0 (expected >= 1)", e.getMessage());
    }
}
