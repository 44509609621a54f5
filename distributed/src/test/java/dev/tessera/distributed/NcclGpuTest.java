package dev.tessera.distributed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.tessera.distributed.testing.Await;
import dev.tessera.distributed.testing.MemberJvm;
import dev.tessera.distributed.testing.MemberMain;
import dev.tessera.distributed.testing.NcclChecks;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * CollectiveGroup on CUDA tensors through NCCL. Needs CUDA (./tessera test -Pgpu, or the GPU kit); skipped without a
 * GPU in the default build. The one-rank test also runs the multi-GPU collectives on a list of two arrays on
 * cuda:0. The two-rank test needs two GPUs (NCCL refuses two ranks of one communicator on one GPU) and carries the
 * tag {@code multi-gpu} as well, which the GPU kit leaves out on a one-GPU machine.
 */
@Tag("gpu")
class NcclGpuTest {
    private static final long BOUND_MILLIS = 2_000;

    private static int gpus() {
        return Engine.getEngine("PyTorch").getGpuCount();
    }

    @BeforeEach
    void needsCuda() {
        assumeTrue(gpus() > 0, "no CUDA device visible to DJL's PyTorch engine");
    }

    @Test
    void oneRankCommunicatorOnCuda0RunsEveryOperation() throws Exception {
        try (World world = World.builder().setName("worker-0").setRank(0).setWorldSize(1)
                .optCoordinator(Await.freeCoordinator()).build()) {
            CollectiveGroup g = world.createCollectiveGroup("nccl-one", List.of(0), CollectiveGroup.options()
                    .optTimeout(Duration.ofSeconds(120)));
            NcclChecks.run(g, 0);
            listOfTwoArraysOnCuda0(g);
            g.destroy();
        }
    }

    /**
     * The multi-GPU collectives with one rank and a list of two CUDA arrays, both on cuda:0: the list is combined on
     * the device, NCCL runs over the one combined array, and the result lands in the list (integer AVG truncates
     * through host memory).
     */
    private static void listOfTwoArraysOnCuda0(CollectiveGroup g) {
        try (NDManager m = NDManager.newBaseManager(NcclChecks.deviceOf(0))) {
            for (ReduceOp op : ReduceOp.values()) {
                List<NDArray> l = List.of(m.create(new float[] {1, -4}), m.create(new float[] {3, 2}));
                g.allReduceMultiGpu(l, op);
                float[] want = switch (op) {
                    case SUM -> new float[] {4, -2};
                    case PRODUCT -> new float[] {3, -8};
                    case MIN -> new float[] {1, -4};
                    case MAX -> new float[] {3, 2};
                    case AVG -> new float[] {2, -1};
                };
                for (NDArray a : l) {
                    assertEquals(NcclChecks.deviceOf(0), a.getDevice());
                    assertArrayEquals(want, a.toFloatArray(), "allReduceMultiGpu " + op);
                }
            }
            List<NDArray> ints = List.of(m.create(new long[] {5, -5}), m.create(new long[] {2, -2}));
            g.allReduceMultiGpu(ints, ReduceOp.AVG);
            for (NDArray a : ints) {
                assertArrayEquals(new long[] {3, -3}, a.toLongArray(), "int64 AVG truncates toward zero");
            }
            List<NDArray> r = List.of(m.create(new float[] {1, 2}), m.create(new float[] {10, 20}));
            g.reduceMultiGpu(r, 0, ReduceOp.SUM, 1);
            assertArrayEquals(new float[] {1, 2}, r.get(0).toFloatArray(), "reduceMultiGpu leaves the others");
            assertArrayEquals(new float[] {11, 22}, r.get(1).toFloatArray(), "reduceMultiGpu into rootTensor 1");
            List<NDArray> b = List.of(m.create(new float[] {1, 2}), m.create(new float[] {7, 8}));
            g.broadcastMultiGpuAsync(b, 0, 1).await(Duration.ofSeconds(60));
            assertArrayEquals(new float[] {7, 8}, b.get(0).toFloatArray(), "broadcastMultiGpu from rootTensor 1");
            List<NDArray> in = List.of(m.create(new float[] {1, 2}), m.create(new float[] {3, 4}));
            List<List<NDArray>> out = List.of(List.of(m.zeros(new Shape(2)), m.zeros(new Shape(2))),
                    List.of(m.zeros(new Shape(2)), m.zeros(new Shape(2))));
            g.allGatherMultiGpu(out, in);
            for (List<NDArray> o : out) {
                assertArrayEquals(new float[] {1, 2}, o.get(0).toFloatArray(), "allGatherMultiGpu[0]");
                assertArrayEquals(new float[] {3, 4}, o.get(1).toFloatArray(), "allGatherMultiGpu[1]");
            }
        }
    }

    @Test
    @Tag("multi-gpu")
    void twoRanksInTwoJvmsOnTwoGpusAndAKillFailsTheSurvivorWithinTheBound() throws Exception {
        assumeTrue(gpus() >= 2, "NCCL refuses two ranks on one GPU, and DJL sees " + gpus() + " GPU(s)");
        String coordinator = Await.freeCoordinator();
        try (MemberJvm one = MemberJvm.start(MemberMain.class, 1, 2, coordinator, false, forwarded());
                World world = World.builder().setName("worker-0").setRank(0).setWorldSize(2)
                        .optCoordinator(coordinator).build()) {
            one.expect("READY", 60);
            for (Transport t : List.of(Transport.SHARED_MEMORY, Transport.TCP)) {
                String name = "nccl-" + t;
                one.send("coll-create " + name + " " + t);
                CollectiveGroup g = world.createCollectiveGroup(name, List.of(0, 1), CollectiveGroup.options()
                        .optTransport(t).optTimeout(Duration.ofSeconds(120)));
                assertEquals(t.toString(), one.expect("COLL-CREATE", 60));
                one.send("nccl-checks " + name);
                NcclChecks.run(g, 0);
                assertEquals("OK", one.expect("NCCL-CHECKS", 180), t + " on rank 1");
                if (t == Transport.TCP) {
                    killDuringAllReduce(g, one);
                } else {
                    one.send("coll-destroy " + name);
                    g.destroy();
                    assertEquals("OK", one.expect("COLL-DESTROY", 30));
                }
            }
        }
    }

    /**
     * Rank 0 starts a CUDA all-reduce; rank 1 only takes part in its header exchange, so rank 0's NCCL kernel waits
     * for it; then rank 1 is killed: rank 0 must abort the communicator and fail within the bound.
     */
    private static void killDuringAllReduce(CollectiveGroup g, MemberJvm one) throws Exception {
        try (NDManager m = NDManager.newBaseManager(NcclChecks.deviceOf(0))) {
            var a = m.create(new float[] {1, 2});
            CompletableFuture<Void> blocked = CompletableFuture.runAsync(() -> g.allReduce(a, ReduceOp.SUM));
            one.send("nccl-block " + g.name());
            assertEquals(g.name(), one.expect("NCCL-AGREED", 60), "rank 1 passed the header exchange");
            // NCCL's kernel cannot finish without rank 1: the call is still running
            assertThrows(java.util.concurrent.TimeoutException.class, () -> blocked.get(500, TimeUnit.MILLISECONDS));
            long killed = System.nanoTime();
            one.kill();
            ExecutionException e = assertThrows(ExecutionException.class, () -> blocked.get(10, TimeUnit.SECONDS));
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed);
            assertTrue(e.getCause() instanceof MemberLostException, "got " + e.getCause());
            assertEquals("worker-1", ((MemberLostException) e.getCause()).member());
            System.out.printf("kill -9 while NCCL's all-reduce waits for the victim: MemberLostException after %d ms%n",
                    millis);
            assertTrue(millis <= BOUND_MILLIS, millis + " ms after the kill");
            IllegalStateException broken = assertThrows(IllegalStateException.class, g::barrier);
            assertTrue(broken.getMessage().contains("broken"), broken.getMessage());
            g.destroy();
        }
    }

    /** The settings the child needs to find CUDA's libraries as this JVM did. */
    private static List<String> forwarded() {
        List<String> out = new ArrayList<>();
        for (String p : List.of("jna.library.path", "tessera.nccl.library", "tessera.cudart.library")) {
            if (System.getProperty(p) != null) {
                out.add("-D" + p + "=" + System.getProperty(p));
            }
        }
        return out;
    }
}
