package dev.tessera.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.distributed.testing.Await;
import dev.tessera.distributed.testing.MemberJvm;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Members that die or leave: a World of this JVM (worker-0) and two child JVMs. A kill -9 during a barrier and during
 * rpcSync fails every survivor's call with {@link MemberLostException} naming the dead member within the bound; the
 * dead member's pairs and services leave every table; nothing is left running.
 */
class MemberDeathTest {
    /** Detection bound: kill -9 to MemberLostException on every survivor (issue #12: about 2 s). */
    private static final long BOUND_MILLIS = 2_000;

    @Test
    void killDuringBarrierAndRpcSyncFailsEverySurvivorWithinTheBound() throws Exception {
        String coordinator = Await.freeCoordinator();
        try (MemberJvm survivor = MemberJvm.start(1, 3, coordinator);
                MemberJvm victim = MemberJvm.start(2, 3, coordinator);
                World world = World.builder().setName("worker-0").setRank(0).setWorldSize(3)
                        .optCoordinator(coordinator).build()) {
            RpcGroup g = world.createRpcGroup("g", world.members());
            survivor.expect("READY", 60);
            victim.expect("READY", 60);
            victim.send("pair held-by-2 x");
            assertEquals("true", victim.expect("PAIR", 30));
            victim.send("register svc-of-2");
            assertEquals("true", victim.expect("REGISTER", 30));
            Await.until(() -> g.isPaired("held-by-2") && g.isRegistered("svc-of-2"), 10_000, "the victim's keys");

            // this JVM: a barrier and an rpcSync to the victim in flight; the survivor: the same
            CompletableFuture<Void> barrier = CompletableFuture.runAsync(() -> g.barrier(Duration.ofSeconds(60)));
            CompletableFuture<Integer> rpc = g.rpcAsync("worker-2", Functions::block);
            survivor.send("barrier 60000");
            survivor.send("rpc-block worker-2");
            survivor.send("rpc-name worker-1"); // a round trip: the survivor has read its commands
            assertFalse(barrier.isDone(), "the barrier waits for the victim");
            assertEquals("worker-1", survivor.expect("RPC-NAME", 30), "the survivor is responsive");

            long killed = System.nanoTime();
            victim.kill();
            ExecutionException b = assertThrows(ExecutionException.class, () -> barrier.get(10, TimeUnit.SECONDS));
            long barrierMillis = millisSince(killed);
            ExecutionException r = assertThrows(ExecutionException.class, () -> rpc.get(10, TimeUnit.SECONDS));
            long rpcMillis = millisSince(killed);
            assertLost(b.getCause(), "worker-2");
            assertLost(r.getCause(), "worker-2");
            assertEquals("LOST worker-2", survivor.expect("BARRIER", 10));
            long survivorBarrierMillis = millisSince(killed);
            assertEquals("LOST worker-2", survivor.expect("RPC-BLOCK", 10));
            long survivorRpcMillis = millisSince(killed);
            System.out.printf("kill -9 detection: barrier %d ms, rpcSync %d ms here; survivor: barrier <= %d ms, "
                    + "rpcSync <= %d ms%n", barrierMillis, rpcMillis, survivorBarrierMillis, survivorRpcMillis);
            assertTrue(barrierMillis <= BOUND_MILLIS, "barrier failed " + barrierMillis + " ms after the kill");
            assertTrue(rpcMillis <= BOUND_MILLIS, "rpcSync failed " + rpcMillis + " ms after the kill");
            assertTrue(survivorRpcMillis <= BOUND_MILLIS, "the survivor learned " + survivorRpcMillis + " ms after");

            // the dead member's keys are gone everywhere, and calls to it fail at once
            assertEquals(List.of("worker-0", "worker-1"), world.members());
            assertFalse(g.isPaired("held-by-2"));
            assertFalse(g.isRegistered("svc-of-2"));
            survivor.send("get held-by-2");
            assertEquals("NONE", survivor.expect("GET", 10));
            survivor.send("isreg svc-of-2");
            assertEquals("false", survivor.expect("ISREG", 10));
            assertLost(assertThrows(MemberLostException.class, () -> g.rpcSync("worker-2", Functions::whoAmI)),
                    "worker-2");
            // the survivors carry on: a key the victim held can be claimed again
            assertTrue(g.pair("held-by-2", "mine now"));
            assertFalse(victim.process().isAlive());
            assertEquals(0, survivor.exit(30));
        }
    }

    @Test
    void aMemberThatLeavesTakesItsKeysWithIt() throws Exception {
        String coordinator = Await.freeCoordinator();
        try (MemberJvm holder = MemberJvm.start(1, 3, coordinator);
                MemberJvm other = MemberJvm.start(2, 3, coordinator);
                World world = World.builder().setName("worker-0").setRank(0).setWorldSize(3)
                        .optCoordinator(coordinator).build()) {
            RpcGroup g = world.createRpcGroup("g", world.members());
            holder.expect("READY", 60);
            other.expect("READY", 60);
            holder.send("pair p v");
            assertEquals("true", holder.expect("PAIR", 30));
            holder.send("register s");
            assertEquals("true", holder.expect("REGISTER", 30));
            other.send("pair p mine");
            assertEquals("false", other.expect("PAIR", 30), "the holder was first");
            assertTrue(g.isPaired("p"));
            assertEquals("v", g.getPaired("p"));
            assertEquals("worker-1:0", g.registeredSync("s"));

            assertEquals(0, holder.exit(30), "closing its World is a clean exit");
            Await.until(() -> !world.members().contains("worker-1"), 10_000, "worker-1 leaving the view");
            assertFalse(g.isPaired("p"));
            assertFalse(g.isRegistered("s"));
            other.send("awaitgone worker-1");
            assertEquals("true", other.expect("AWAITGONE", 30));
            other.send("get p");
            assertEquals("NONE", other.expect("GET", 10));
            other.send("pair p mine");
            assertEquals("true", other.expect("PAIR", 30), "the key is free again");
            assertEquals(0, other.exit(30));
        }
    }

    private static long millisSince(long t0) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    private static void assertLost(Throwable e, String member) {
        assertTrue(e instanceof MemberLostException, "expected MemberLostException, got " + e);
        assertEquals(member, ((MemberLostException) e).member());
    }
}
