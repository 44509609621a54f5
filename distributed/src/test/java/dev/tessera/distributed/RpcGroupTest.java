package dev.tessera.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.example.payload.Diagonal;
import com.example.payload.Point;
import dev.tessera.sharedmem.MalformedMessageException;
import dev.tessera.distributed.testing.Await;
import dev.tessera.distributed.testing.MemberJvm;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every RpcGroup method between this JVM (worker-0, rank 0) and a child JVM (worker-1) on loopback, against
 * expected values.
 */
class RpcGroupTest {
    private static MemberJvm child;
    private static World world;
    private static RpcGroup g;

    @BeforeAll
    static void startWorld() throws Exception {
        String coordinator = Await.freeCoordinator();
        child = MemberJvm.start(1, 2, coordinator, true); // full JIT: the round-trip figure is measured here
        world = World.builder().setName("worker-0").setRank(0).setWorldSize(2).optCoordinator(coordinator)
                .optJoinTimeout(Duration.ofSeconds(60)).optRpcTimeout(Duration.ofSeconds(30)).build();
        g = world.createRpcGroup("g", world.members());
        child.expect("READY", 60);
    }

    @AfterAll
    static void stopWorld() throws Exception {
        try {
            if (child != null) {
                assertEquals(0, child.exit(30), "the member exits cleanly when told");
            }
        } finally {
            if (world != null) {
                world.close();
            }
            if (child != null) {
                child.close();
            }
        }
    }

    @Test
    void worldKnowsEveryMemberInRankOrder() {
        assertEquals(List.of("worker-0", "worker-1"), world.members());
        assertEquals(0, world.rank());
        assertEquals("worker-0", world.name());
        assertEquals(2, world.worldSize());
        assertEquals(world, World.current());
        assertEquals(2, g.size());
        assertEquals(List.of("worker-0", "worker-1"), g.members());
        assertEquals("worker-0", g.currentName());
        assertEquals("g", g.name());
    }

    @Test
    void theWorldsThreadsAreDaemonsSoAProgramThatForgetsCloseStillExits() {
        // JGroups names its threads "NAME-N,CLUSTER,MEMBER(...)"; before DaemonTcp they were not daemons, and a main
        // that returned with its World open never exited
        List<Thread> channelThreads = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().contains(",tessera,worker-0")).toList();
        assertFalse(channelThreads.isEmpty(), "the channel's threads are named as expected");
        assertEquals(List.of(), channelThreads.stream().filter(t -> !t.isDaemon()).map(Thread::getName).toList());
    }

    @Test
    void aSecondWorldInOneProcessIsAnError() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> World.builder().setName("x")
                .setRank(0).setWorldSize(1).optCoordinator("127.0.0.1:1").build());
        assertTrue(e.getMessage().contains("already open"), e.getMessage());
    }

    @Test
    void rpcSyncRunsTheFunctionInTheOtherMember() {
        assertEquals("worker-1", g.rpcSync("worker-1", Functions::whoAmI));
        assertEquals("worker-0", g.rpcSync("worker-0", Functions::whoAmI), "a member may call itself");
        assertEquals(5, g.rpcSync("worker-1", Functions::add, 2, 3));
        assertEquals(8, g.rpcSync("worker-1", Functions::inc, 7));
        int factor = 10;
        assertEquals(40, g.<Integer, Integer>rpcSync("worker-1", x -> x * factor, 4), "a capturing lambda");
    }

    @Test
    void rpcAsyncCompletesWithTheResult() throws Exception {
        CompletableFuture<Integer> a = g.rpcAsync("worker-1", Functions::add, 20, 22);
        CompletableFuture<String> b = g.rpcAsync("worker-1", Functions::whoAmI);
        assertEquals(42, a.get(30, TimeUnit.SECONDS));
        assertEquals("worker-1", b.get(30, TimeUnit.SECONDS));
    }

    @Test
    void remoteKeepsTheResultInTheOwnerUntilClosed() {
        RemoteRef<Integer> ref = g.remote("worker-1", Functions::add, 40, 2);
        assertEquals("worker-1", ref.owner());
        assertEquals(42, ref.toHere());
        assertEquals(42, ref.toHere(), "fetched again");
        ref.close();
        assertThrows(IllegalStateException.class, ref::toHere);
        try (RemoteRef<String> who = g.remote("worker-1", Functions::whoAmI)) {
            assertEquals("worker-1", who.toHere());
        }
    }

    @Test
    void remoteExceptionsComeBackWithTypeMessageAndRemoteTrace() {
        RemoteCallException e = assertThrows(RemoteCallException.class,
                () -> g.rpcSync("worker-1", Functions::fail, "boom"));
        assertEquals("worker-1", e.member());
        assertEquals(IllegalStateException.class.getName(), e.remoteType());
        assertEquals("boom", e.remoteMessage());
        assertTrue(Arrays.stream(e.remoteStackTrace()).anyMatch(f -> f.getMethodName().equals("fail")
                && f.getClassName().equals(Functions.class.getName())), Arrays.toString(e.remoteStackTrace()));
        Throwable cause = e.getCause().getCause();
        assertTrue(cause.getMessage().contains("java.io.UncheckedIOException: inner"), cause.getMessage());
        assertTrue(cause.getCause().getMessage().contains("java.io.IOException: disk"), cause.getCause().getMessage());
        RemoteCallException viaFuture = assertThrows(RemoteCallException.class,
                () -> RpcGroup.await(g.rpcAsync("worker-1", Functions::fail, "async boom")));
        assertEquals("async boom", viaFuture.remoteMessage());
    }

    @Test
    void argumentClassesAreAllowedByTheirPackageTreeButNestedStrangersAreRejected() {
        assertEquals(3, g.<Point, Integer>rpcSync("worker-1", p -> p.x() + p.y(), new Point(1, 2)));
        RemoteCallException e = assertThrows(RemoteCallException.class,
                () -> g.rpcSync("worker-1", Functions::size, List.of(new Point(1, 2))));
        assertEquals("dev.tessera.sharedmem.MalformedMessageException", e.remoteType());
        assertTrue(e.remoteMessage().contains("member 'worker-1' received a payload that holds class "
                + "com.example.payload.Point, which its allow-list rejects"), e.remoteMessage());
        assertTrue(e.remoteMessage().contains("World.builder().optAllowPatterns(\"com.example.payload.**\")"),
                "it names the World's option, not TensorCodec's: " + e.remoteMessage());
    }

    @Test
    void somethingNotSerializableIsNamedWithWhatToDo() {
        World captured = world; // a local: the lambda captures it (a static field it would not)
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> g.rpcSync("worker-1", (Integer x) -> captured.name() + x, 1));
        assertTrue(e.getMessage().contains("member 'worker-0' cannot send a payload that holds "
                + "dev.tessera.distributed.World, which is not Serializable"), e.getMessage());
        assertTrue(e.getMessage().contains("use World.current() rather than capturing the World"), e.getMessage());
        RemoteCallException r = assertThrows(RemoteCallException.class, () -> g.rpcSync("worker-1", Object::new));
        assertTrue(r.remoteMessage().contains("member 'worker-1' cannot send a payload that holds java.lang.Object, "
                + "which is not Serializable"), "a result too: " + r.remoteMessage());
    }

    @Test
    void aResultMayNestClassesOfTheCallersFunctionsPackageTree() {
        // a com.example function returning List<com.example.Point>: the result's own class is a JDK list, so before
        // the reply inherited the request's allowances the caller rejected the points in it
        List<Point> diagonal = List.of(new Point(1, 1), new Point(2, 2));
        assertEquals(diagonal, g.rpcSync("worker-1", new Diagonal(), 2));
        try (RemoteRef<List<Point>> ref = g.remote("worker-1", new Diagonal(), 2)) {
            assertEquals(diagonal, ref.toHere());
        }
        MalformedMessageException e = assertThrows(MalformedMessageException.class,
                () -> g.rpcSync("worker-1", (Integer n) -> new Diagonal().apply(n), 1));
        assertTrue(e.getMessage().contains("member 'worker-0' received a payload that holds class "
                + "com.example.payload.Point"), "a lambda of another package tree still needs a pattern: "
                + e.getMessage());
    }

    @Test
    void callsToNonMembersAreRejectedAtOnce() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> g.rpcSync("nobody", Functions::whoAmI));
        assertTrue(e.getMessage().contains("not a member of group 'g'"), e.getMessage());
    }

    @Test
    void tensorsTravelBothWays() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(new float[] {1, 2, 3});
            NDArray y = g.rpcSync("worker-1", Functions::twice, x);
            assertEquals(List.of(2f, 4f, 6f), List.of(y.toFloatArray()[0], y.toFloatArray()[1], y.toFloatArray()[2]));
            y.close();
        }
    }

    @Test
    void pairFirstWriterWinsAndEveryMemberSeesTheWinner() throws Exception {
        assertTrue(g.pair("k", "v0"));
        assertFalse(g.pair("k", "other"), "the key is taken");
        assertEquals("v0", g.getPaired("k"));
        assertTrue(g.isPaired("k"));
        // the child's own pair is ordered after ours in the total order, so it loses and then reads ours
        child.send("pair k v1");
        assertEquals("false", child.expect("PAIR", 30));
        child.send("get k");
        assertEquals("v0", child.expect("GET", 30));
        child.send("unpair k");
        assertEquals("false", child.expect("UNPAIR", 30), "only the holder unpairs");
        assertTrue(g.unpair("k"));
        assertFalse(g.isPaired("k"));
        assertThrows(NoSuchElementException.class, () -> g.getPaired("k"));
    }

    @Test
    void concurrentPairsAgreeOnOneWinner() throws Exception {
        for (int i = 0; i < 5; i++) {
            String key = "race" + i;
            child.send("pair " + key + " child");
            boolean mine = g.pair(key, "parent");
            boolean theirs = Boolean.parseBoolean(child.expect("PAIR", 30));
            assertNotEquals(mine, theirs, "exactly one of the two wins " + key);
            child.send("get " + key);
            assertEquals(g.getPaired(key), child.expect("GET", 30), "both members agree on the value of " + key);
        }
    }

    @Test
    void registerFirstWriterWinsAndServicesRunInTheirHolder() throws Exception {
        assertTrue(g.register("svc", args -> "worker-0:" + args.length));
        assertFalse(g.register("svc", args -> "again"));
        child.send("register svc");
        assertEquals("false", child.expect("REGISTER", 30));
        assertTrue(g.isRegistered("svc"));
        child.send("isreg svc");
        assertEquals("true", child.expect("ISREG", 30));
        child.send("call svc");
        assertEquals("worker-0:2", child.expect("CALL", 30));
        assertEquals("worker-0:3", g.registeredSync("svc", 1, 2, 3));
        assertEquals("worker-0:0", g.<String>registeredAsync("svc").get(30, TimeUnit.SECONDS));
        try (RemoteRef<String> ref = g.registeredRemote("svc", "a")) {
            assertEquals("worker-0", ref.owner());
            assertEquals("worker-0:1", ref.toHere());
        }
        child.send("register svc2");
        assertEquals("true", child.expect("REGISTER", 30));
        Await.until(() -> g.isRegistered("svc2"), 10_000, "svc2 reaching this member's table");
        assertEquals("worker-1:2", g.registeredSync("svc2", "x", "y"));
        assertTrue(g.deregister("svc"));
        assertFalse(g.deregister("svc2"), "only the holder deregisters");
        assertThrows(NoSuchElementException.class, () -> g.registeredSync("svc"));
    }

    @Test
    void barrierReturnsWhenAllArrive() throws Exception {
        child.send("barrier 30000");
        g.barrier(Duration.ofSeconds(30));
        assertEquals("OK", child.expect("BARRIER", 30));
    }

    @Test
    void changesMadeBeforeABarrierAreVisibleToEveryMemberAfterIt() throws Exception {
        for (int i = 0; i < 20; i++) {
            child.send("pair-then-barrier before-barrier-" + i + " v" + i);
            g.barrier(Duration.ofSeconds(30));
            assertTrue(g.isPaired("before-barrier-" + i), "the child's pair is here once the barrier returns");
            assertEquals("v" + i, g.getPaired("before-barrier-" + i));
            assertEquals("true", child.expect("PAIR-THEN-BARRIER", 30));
        }
    }

    @Test
    void barrierTimesOutWhenAMemberNeverArrives() {
        RpcGroup solo = world.createRpcGroup("solo", world.members());
        try {
            long t0 = System.nanoTime();
            GroupTimeoutException e = assertThrows(GroupTimeoutException.class,
                    () -> solo.barrier(Duration.ofMillis(300)));
            assertTrue(e.getMessage().contains("worker-1"), e.getMessage());
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10));
        } finally {
            solo.destroy();
        }
        IllegalStateException destroyed = assertThrows(IllegalStateException.class,
                () -> solo.rpcSync("worker-1", Functions::whoAmI));
        assertTrue(destroyed.getMessage().contains("group 'solo' of member 'worker-0' is destroyed (create it again "
                + "with World.createRpcGroup)"), destroyed.getMessage());
    }

    @Test
    void withTimeoutBoundsASlowCall() {
        RpcGroup quick = g.withTimeout(Duration.ofMillis(300));
        GroupTimeoutException e = assertThrows(GroupTimeoutException.class,
                () -> quick.rpcSync("worker-1", Functions::block));
        assertTrue(e.getMessage().contains("worker-1"), e.getMessage());
    }

    @Test
    void roundTripMedianOnLoopback() {
        for (int i = 0; i < 3_000; i++) {
            g.rpcSync("worker-1", Functions::inc, i); // warm-up: JIT on both sides
        }
        long[] micros = new long[5_000];
        for (int i = 0; i < micros.length; i++) {
            long t0 = System.nanoTime();
            int r = g.rpcSync("worker-1", Functions::inc, i);
            micros[i] = (System.nanoTime() - t0) / 1_000;
            assertEquals(i + 1, r);
        }
        Arrays.sort(micros);
        long median = micros[micros.length / 2];
        System.out.printf("rpcSync round trip, 2 JVMs on loopback: median %d us, p90 %d us, p99 %d us%n", median,
                micros[micros.length * 9 / 10], micros[micros.length * 99 / 100]);
        assertTrue(median < 2_000, "median round trip " + median + " us (a regression: it was about 150 us)");
    }
}
