package dev.tessera.distributed.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.distributed.RpcGroup;
import dev.tessera.distributed.World;
import dev.tessera.distributed.testing.Await;
import dev.tessera.distributed.testing.MemberJvm;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replicated ordered server on three child JVMs (worker-1..3, a Raft group on loopback) and this JVM (worker-0) as
 * a client: compare-and-set races have one winner, and a kill -9 of the Raft leader's JVM in the middle of a chain
 * of pushes loses no acknowledged push; the chain goes on with the survivors. Raft logs go to a temporary directory
 * that JUnit deletes.
 */
class ReplicatedOrderedServerTest {
    private static final String REPLICAS = "worker-1,worker-2,worker-3";

    @Test
    void killingTheLeadersHostLosesNoAcknowledgedPush(@TempDir Path logs) throws Exception {
        long t0 = System.nanoTime();
        String coordinator = Await.freeCoordinator();
        CompletableFuture<World> joining = CompletableFuture.supplyAsync(() -> World.builder().setName("worker-0")
                .setRank(0).setWorldSize(4).optCoordinator(coordinator).optFailureTimeout(ServerTests.FAILURE_TIMEOUT).build());
        List<MemberJvm> replicas = new ArrayList<>();
        try (MemberJvm r1 = MemberJvm.start(ServerMemberMain.class, 1, 4, coordinator, false, "replicated", REPLICAS,
                        "1000", logs.toString());
                MemberJvm r2 = MemberJvm.start(ServerMemberMain.class, 2, 4, coordinator, false, "replicated",
                        REPLICAS, "1000", logs.toString());
                MemberJvm r3 = MemberJvm.start(ServerMemberMain.class, 3, 4, coordinator, false, "replicated",
                        REPLICAS, "1000", logs.toString());
                World world = joining.get(60, TimeUnit.SECONDS)) {
            replicas.addAll(List.of(r1, r2, r3));
            try (OrderedServer server = OrderedServer.builder().setName("s").setGroup(world.createRpcGroup("g",
                    world.members())).optReplicated(true).optReplicas(List.of(REPLICAS.split(",")))
                    .optVersionDepth(1000).optTimeout(Duration.ofSeconds(20)).build()) {
                run(server, replicas, t0);
            } catch (Throwable e) {
                for (MemberJvm r : replicas) {
                    e.addSuppressed(new AssertionError(r.name() + "'s stderr:\n" + r.stderrText()));
                }
                throw e;
            }
        }
    }

    private static void run(OrderedServer server, List<MemberJvm> replicas, long t0) throws Exception {
        MemberJvm r2 = replicas.get(1);
        {
            for (MemberJvm r : replicas) {
                r.expect("READY", 60);
            }
            System.out.printf("World and replicas ready after %d ms%n", (System.nanoTime() - t0) / 1_000_000);
            // compare-and-set: of two pushes with the same prevVersion, from two members, exactly one wins
            assertTrue(server.push("race", "base", 1, 0));
            r2.send("push race theirs 2 1");
            boolean mine = server.push("race", "mine", 2, 1);
            boolean theirs = Boolean.parseBoolean(r2.expect("PUSH", 30));
            assertTrue(mine ^ theirs, "exactly one of two pushes on version 1 wins: mine=" + mine + " theirs="
                    + theirs);
            assertEquals(mine ? "mine" : "theirs", server.pull("race"));

            // a chain of pushes; the leader's JVM is killed in the middle of it
            String leader = server.leader();
            assertNotNull(leader, "a leader is elected");
            MemberJvm victim = replicas.stream().filter(r -> r.name().equals(leader)).findFirst().orElseThrow();
            List<Long> acknowledged = new ArrayList<>();
            long version = 0;
            long killedAt = -1;
            long firstAfterKill = -1;
            long[] pushNanos = new long[30];
            for (int i = 0; i < 60; i++) {
                long t = System.nanoTime();
                if (i == 30) {
                    victim.kill();
                    killedAt = System.nanoTime();
                }
                if (server.push("chain", "value-" + (version + 1), version + 1, version)) {
                    version++;
                    acknowledged.add(version);
                    if (killedAt > 0 && firstAfterKill < 0) {
                        firstAfterKill = System.nanoTime();
                    }
                }
                if (i < 30) {
                    pushNanos[i] = System.nanoTime() - t;
                }
            }
            System.out.printf("replicated ordered server (3 replicas, client outside): push median %d us%n",
                    ServersAcrossJvmsTest.median(pushNanos) / 1000);
            System.out.printf("kill -9 of the leader %s: the next push was acknowledged after %d ms%n", leader,
                    (firstAfterKill - killedAt) / 1_000_000);
            assertEquals(60, acknowledged.size(), "every push in the chain was acknowledged (retries are idempotent)");
            for (long v : acknowledged) {
                assertEquals("value-" + v, server.pull("chain", v), "acknowledged version " + v);
            }
            System.out.printf("chain checked after %d ms%n", (System.nanoTime() - t0) / 1_000_000);
            String next = server.leader();
            assertNotNull(next);
            assertNotEquals(leader, next, "a surviving replica leads");
            // the survivors serve the same data, and reject a stale prevVersion
            MemberJvm survivor = replicas.stream().filter(r -> r != victim).findFirst().orElseThrow();
            survivor.send("pull chain");
            assertEquals("value-60", survivor.expect("PULL", 30));
            survivor.send("push chain stale 61 59");
            assertEquals("false", survivor.expect("PUSH", 30));
            assertFalse(victim.process().isAlive());
        }
    }
}
