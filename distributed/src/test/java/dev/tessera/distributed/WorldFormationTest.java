package dev.tessera.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.distributed.testing.Await;
import dev.tessera.distributed.testing.MemberJvm;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * World formation when the other ranks start before rank 0, as they do under any launcher that starts processes in
 * parallel. They must wait for rank 0 rather than found clusters of their own: such a cluster sent rank 0's JOINs
 * to a member that had already left it (each timing out), and a member that reconnected under its old address had
 * its messages dropped as duplicates, so a later view change was missed.
 */
class WorldFormationTest {

    @Test
    void ranksStartedBeforeRankZeroJoinItsWorldAndSeeEveryMulticast() throws Exception {
        String coordinator = Await.freeCoordinator();
        try (MemberJvm one = MemberJvm.start(1, 3, coordinator);
                MemberJvm two = MemberJvm.start(2, 3, coordinator)) {
            one.expect("JOINING", 60);
            two.expect("JOINING", 60);
            try {
                formAndCheck(coordinator, one, two);
            } catch (Throwable e) {
                throw new AssertionError(e + "\nworker-1's stderr:\n" + one.stderrText() + "\nworker-2's stderr:\n"
                        + two.stderrText(), e);
            }
        }
    }

    private static void formAndCheck(String coordinator, MemberJvm one, MemberJvm two) throws Exception {
        try (World world = World.builder().setName("worker-0").setRank(0).setWorldSize(3)
                .optCoordinator(coordinator).build()) {
            assertEquals(List.of("worker-0", "worker-1", "worker-2"), world.members());
            RpcGroup g = world.createRpcGroup("g", world.members());
            assertEquals("[worker-0, worker-1, worker-2]", one.expect("READY worker-1", 60));
            assertEquals("[worker-0, worker-1, worker-2]", two.expect("READY worker-2", 60));

            // the table's changes and the barrier's arrivals are total-order multicasts: after the barrier
            // every member has applied every member's pair
            one.send("pair-then-barrier k1 v1");
            two.send("pair-then-barrier k2 v2");
            assertTrue(g.pair("k0", "v0"));
            g.barrier(Duration.ofSeconds(30));
            assertEquals("true", one.expect("PAIR-THEN-BARRIER", 30));
            assertEquals("true", two.expect("PAIR-THEN-BARRIER", 30));
            assertEquals("v1", g.getPaired("k1"));
            assertEquals("v2", g.getPaired("k2"));
            one.send("get k2");
            assertEquals("v2", one.expect("GET", 30));
            two.send("get k0");
            assertEquals("v0", two.expect("GET", 30));

            assertEquals(0, one.exit(30));
            Await.until(() -> !world.members().contains("worker-1"), 10_000, "worker-1 leaving the view");
            two.send("awaitgone worker-1");
            assertEquals("true", two.expect("AWAITGONE", 30), "every member sees the leave");
            assertEquals(0, two.exit(30));
            for (MemberJvm m : List.of(one, two)) {
                assertFalse(m.stderrText().contains("timed out"), m.name() + " had a JOIN time out:\n"
                        + m.stderrText());
            }
        }
    }
}
