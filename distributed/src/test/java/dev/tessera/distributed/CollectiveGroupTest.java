package dev.tessera.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.tessera.distributed.testing.Await;
import dev.tessera.distributed.testing.CollectiveChecks;
import dev.tessera.distributed.testing.MemberJvm;
import dev.tessera.distributed.testing.MultiGpuChecks;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * CollectiveGroup across three JVMs (this one is rank 0, two children): every method against expected values on the
 * shared-memory path and on the TCP path forced on one host (the multi-GPU ones on lists of CPU arrays, with their
 * argument errors), mismatched shapes and dtypes failing on every rank, and
 * a kill -9 during all-reduce failing every survivor on both paths within the bound.
 */
class CollectiveGroupTest {
    private static final long BOUND_MILLIS = 2_000;

    @Test
    void everyMethodOnBothPathsAndMismatchesFailOnEveryRank() throws Exception {
        String coordinator = Await.freeCoordinator();
        try (MemberJvm one = MemberJvm.start(1, 3, coordinator);
                MemberJvm two = MemberJvm.start(2, 3, coordinator);
                World world = World.builder().setName("worker-0").setRank(0).setWorldSize(3)
                        .optCoordinator(coordinator).build()) {
            one.expect("READY", 60);
            two.expect("READY", 60);
            for (Transport t : List.of(Transport.TCP, Transport.SHARED_MEMORY)) {
                String name = "c-" + t;
                one.send("coll-create " + name + " " + t);
                two.send("coll-create " + name + " " + t);
                CollectiveGroup g = world.createCollectiveGroup(name, List.of(0, 1, 2), CollectiveGroup.options()
                        .optTransport(t).optSlotBytes(128 * 1024).optTimeout(Duration.ofSeconds(60)));
                assertEquals(t, g.transport());
                assertEquals(t.toString(), one.expect("COLL-CREATE", 60));
                assertEquals(t.toString(), two.expect("COLL-CREATE", 60));

                one.send("coll-checks " + name);
                two.send("coll-checks " + name);
                try {
                    CollectiveChecks.run(g, 0);
                } catch (AssertionError e) {
                    throw new AssertionError(t + ": " + e.getMessage(), e);
                }
                assertEquals("OK", one.expect("COLL-CHECKS", 60), t + " on rank 1");
                assertEquals("OK", two.expect("COLL-CHECKS", 60), t + " on rank 2");

                one.send("coll-multi " + name);
                two.send("coll-multi " + name);
                try {
                    MultiGpuChecks.run(g, 0);
                } catch (AssertionError e) {
                    throw new AssertionError(t + " multi-GPU: " + e.getMessage(), e);
                }
                assertEquals("OK", one.expect("COLL-MULTI", 60), t + " multi-GPU on rank 1");
                assertEquals("OK", two.expect("COLL-MULTI", 60), t + " multi-GPU on rank 2");

                for (String kind : List.of("shape", "dtype", "device")) {
                    one.send("coll-mismatch " + name + " " + kind);
                    two.send("coll-mismatch " + name + " " + kind);
                    assertEquals("IAE", CollectiveChecks.mismatch(g, 0, kind), t + " " + kind);
                    assertEquals("IAE", one.expect("COLL-MISMATCH", 60), t + " " + kind + " on rank 1");
                    assertEquals("IAE", two.expect("COLL-MISMATCH", 60), t + " " + kind + " on rank 2");
                }
                one.send("coll-destroy " + name);
                two.send("coll-destroy " + name);
                g.destroy();
                assertEquals("OK", one.expect("COLL-DESTROY", 30));
                assertEquals("OK", two.expect("COLL-DESTROY", 30));
                assertThrows(IllegalStateException.class, g::barrier, "a destroyed group refuses work");
            }
            assertEquals(0, one.exit(30));
            assertEquals(0, two.exit(30));
        }
    }

    @Test
    void killDuringAllReduceFailsEverySurvivorOnBothPathsWithinTheBound() throws Exception {
        String coordinator = Await.freeCoordinator();
        try (MemberJvm survivor = MemberJvm.start(1, 3, coordinator);
                MemberJvm victim = MemberJvm.start(2, 3, coordinator);
                World world = World.builder().setName("worker-0").setRank(0).setWorldSize(3)
                        .optCoordinator(coordinator).build();
                NDManager m = NDManager.newBaseManager()) {
            survivor.expect("READY", 60);
            victim.expect("READY", 60);
            CollectiveGroup[] groups = new CollectiveGroup[2];
            List<Transport> transports = List.of(Transport.SHARED_MEMORY, Transport.TCP);
            for (int i = 0; i < 2; i++) {
                String name = "d-" + transports.get(i);
                survivor.send("coll-create " + name + " " + transports.get(i));
                victim.send("coll-create " + name + " " + transports.get(i));
                groups[i] = world.createCollectiveGroup(name, List.of(0, 1, 2),
                        CollectiveGroup.options().optTransport(transports.get(i)).optSlotBytes(128 * 1024));
                survivor.expect("COLL-CREATE", 60);
                victim.expect("COLL-CREATE", 60);
            }
            // both survivors block in an all-reduce on each path: the victim never joins them
            List<CompletableFuture<Void>> blocked = List.of(
                    CompletableFuture.runAsync(() -> groups[0].allReduce(m.create(new float[] {1, 2}), ReduceOp.SUM)),
                    CompletableFuture.runAsync(() -> groups[1].allReduce(m.create(new float[] {1, 2}), ReduceOp.SUM)));
            survivor.send("coll-block d-SHARED_MEMORY");
            survivor.send("coll-block d-TCP");
            assertEquals("", survivor.expect("COLL-BLOCKING d-SHARED_MEMORY", 60), "the survivor is about to block");
            assertEquals("", survivor.expect("COLL-BLOCKING d-TCP", 60));

            long killed = System.nanoTime();
            java.time.Instant killedAt = java.time.Instant.now();
            victim.kill();
            for (int i = 0; i < 2; i++) {
                CompletableFuture<Void> f = blocked.get(i);
                ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
                long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed);
                assertTrue(e.getCause() instanceof MemberLostException, "got " + e.getCause());
                assertEquals("worker-2", ((MemberLostException) e.getCause()).member());
                System.out.printf("kill -9 during allReduce (%s): MemberLostException here after %d ms%n",
                        transports.get(i), millis);
                assertTrue(millis <= BOUND_MILLIS, transports.get(i) + ": " + millis + " ms after the kill");
            }
            for (Transport t : transports) {
                String[] lost = survivor.expect("COLL-BLOCK-d-" + t, 10).split(" ");
                assertEquals("LOST worker-2", lost[0] + " " + lost[1]);
                long millis = java.time.Duration.between(killedAt, java.time.Instant.parse(lost[2])).toMillis();
                System.out.printf("kill -9 during allReduce (%s): MemberLostException in the survivor after %d ms%n",
                        t, millis);
                assertTrue(millis <= BOUND_MILLIS, "the survivor learned " + millis + " ms after (" + t + ")");
            }
            IllegalStateException broken = assertThrows(IllegalStateException.class, groups[0]::barrier);
            assertTrue(broken.getMessage().contains("broken"), broken.getMessage());
            groups[0].destroy();
            groups[1].destroy();
            assertEquals(0, survivor.exit(30));
        }
    }
}
