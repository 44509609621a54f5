package dev.tessera.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.distributed.testing.Await;
import dev.tessera.distributed.testing.DdpTraining;
import dev.tessera.distributed.testing.MemberJvm;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Data-parallel training across two JVMs (this one is rank 0): after the same number of SGD steps, every replica
 * equals one process trained on the concatenated batches, within float tolerance; without the averaging they differ,
 * so the check can fail.
 */
class DataParallelTest {
    private static final double TOLERANCE = 1e-5;

    @Test
    void twoRanksTrainAsOneProcessOnTheConcatenatedBatches() throws Exception {
        String coordinator = Await.freeCoordinator();
        try (MemberJvm one = MemberJvm.start(1, 2, coordinator);
                World world = World.builder().setName("worker-0").setRank(0).setWorldSize(2)
                        .optCoordinator(coordinator).build()) {
            one.expect("READY", 60);
            for (Transport t : List.of(Transport.SHARED_MEMORY, Transport.TCP)) {
                String name = "ddp-" + t;
                one.send("coll-create " + name + " " + t);
                CollectiveGroup g = world.createCollectiveGroup(name, List.of(0, 1), CollectiveGroup.options()
                        .optTransport(t).optSlotBytes(128 * 1024).optTimeout(Duration.ofSeconds(60)));
                assertEquals(t.toString(), one.expect("COLL-CREATE", 60));

                one.send("ddp-train " + name);
                CompletableFuture<float[]> local =
                        CompletableFuture.supplyAsync(() -> DdpTraining.trainDataParallel(g, 0, 2, true));
                String remote = one.expect("DDP-TRAIN", 120);
                float[] replica = local.get(120, TimeUnit.SECONDS);
                float[] single = DdpTraining.trainSingle(2);
                double diff = DdpTraining.maxDiff(replica, single);
                assertTrue(diff < TOLERANCE, t + ": rank 0's replica differs from single-process training by " + diff);
                assertEquals(DdpTraining.digest(replica), remote, t + ": rank 1's replica differs from rank 0's");

                one.send("coll-destroy " + name);
                g.destroy();
                assertEquals("OK", one.expect("COLL-DESTROY", 30));
            }
            assertEquals(0, one.exit(30));
        }
    }

    @Test
    void withoutAveragingTheReplicasDoNotMatchSingleProcessTraining() throws Exception {
        String coordinator = Await.freeCoordinator();
        try (World world = World.builder().setName("worker-0").setRank(0).setWorldSize(1)
                .optCoordinator(coordinator).build()) {
            CollectiveGroup g = world.createCollectiveGroup("solo", List.of(0));
            // one rank on half the data with no averaging: the check above would catch a DataParallel that did nothing
            float[] alone = DdpTraining.trainDataParallel(g, 0, 2, false);
            assertTrue(DdpTraining.maxDiff(alone, DdpTraining.trainSingle(2)) > 1e-3);
            DataParallel ddp = DataParallel.builder(g).build();
            assertThrows(IllegalArgumentException.class, () -> DataParallel.builder(g).optRoot(3));
            assertThrows(IllegalArgumentException.class, () -> DataParallel.builder(g).optBucketBytes(0));
            assertEquals(g, ddp.group());
        }
    }
}
