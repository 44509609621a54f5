package dev.tessera.distributed.testing;

import dev.tessera.distributed.CollectiveGroup;
import dev.tessera.distributed.Functions;
import dev.tessera.distributed.ReduceOp;
import dev.tessera.distributed.Transport;
import dev.tessera.distributed.GroupTimeoutException;
import dev.tessera.distributed.MemberLostException;
import dev.tessera.distributed.RpcGroup;
import dev.tessera.distributed.World;
import dev.tessera.distributed.internal.collective.Deadline;
import dev.tessera.distributed.internal.collective.OpHeader;
import dev.tessera.sharedmem.DType;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A World member for the multi-JVM tests: joins the World from the environment, creates group {@code g} of all
 * members, prints {@code JOINING} before and {@code READY} after, then runs one command per stdin line and prints its outcome. Stdin's end closes the
 * World and exits, so a member never outlives its test.
 */
public final class MemberMain {
    private static final java.util.Map<String, CollectiveGroup> COLLECTIVES =
            new java.util.concurrent.ConcurrentHashMap<>();

    private MemberMain() {}

    private static java.util.List<Integer> ranks() {
        return java.util.stream.IntStream.range(0, World.current().worldSize()).boxed().toList();
    }

    public static void main(String[] args) throws Exception {
        System.out.println("JOINING " + System.getenv("TESSERA_NAME"));
        try (World world = World.builder().fromEnvironment().optJoinTimeout(Duration.ofSeconds(60)).build()) {
            RpcGroup g = world.createRpcGroup("g", world.members());
            System.out.println("READY " + world.name() + " " + world.members());
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null && !line.equals("exit"); ) {
                String[] c = line.split(" ");
                Thread.ofVirtual().start(() -> System.out.println(outcome(g, c))); // commands may overlap
            }
        }
        System.exit(0);
    }

    private static String outcome(RpcGroup g, String[] c) {
        try {
            return run(g, c);
        } catch (MemberLostException e) {
            return c[0].toUpperCase() + " LOST " + e.member();
        } catch (GroupTimeoutException e) {
            return c[0].toUpperCase() + " TIMEOUT";
        } catch (RuntimeException e) {
            return c[0].toUpperCase() + " ERR " + e;
        }
    }

    private static String run(RpcGroup g, String[] c) {
        return switch (c[0]) {
            case "barrier" -> {
                g.barrier(Duration.ofMillis(Long.parseLong(c[1])));
                yield "BARRIER OK";
            }
            case "rpc-block" -> "RPC-BLOCK " + g.rpcSync(c[1], Functions::block);
            case "rpc-name" -> "RPC-NAME " + g.rpcSync(c[1], Functions::whoAmI);
            case "pair" -> "PAIR " + g.pair(c[1], c[2]);
            case "unpair" -> "UNPAIR " + g.unpair(c[1]);
            case "get" -> "GET " + (g.isPaired(c[1]) ? g.getPaired(c[1]) : "NONE");
            case "register" -> "REGISTER " + g.register(c[1], a -> g.currentName() + ":" + a.length);
            case "pair-then-barrier" -> {
                boolean won = g.pair(c[1], c[2]);
                g.barrier(Duration.ofSeconds(30));
                yield "PAIR-THEN-BARRIER " + won;
            }
            case "isreg" -> "ISREG " + g.isRegistered(c[1]);
            case "call" -> "CALL " + g.registeredSync(c[1], 1, 2);
            case "awaitgone" -> {
                Await.until(() -> !World.current().members().contains(c[1]), 10_000, c[1] + " leaving");
                yield "AWAITGONE true";
            }
            case "destroy" -> {
                g.destroy();
                yield "DESTROY OK";
            }
            case "coll-create" -> {
                CollectiveGroup cg = World.current().createCollectiveGroup(c[1], ranks(), CollectiveGroup.options()
                        .optTransport(Transport.valueOf(c[2])).optSlotBytes(128 * 1024));
                COLLECTIVES.put(c[1], cg);
                yield "COLL-CREATE " + cg.transport();
            }
            case "coll-checks" -> {
                try {
                    CollectiveChecks.run(COLLECTIVES.get(c[1]), World.current().rank());
                    yield "COLL-CHECKS OK";
                } catch (AssertionError e) {
                    yield "COLL-CHECKS FAIL " + e.getMessage();
                }
            }
            case "coll-multi" -> {
                try {
                    MultiGpuChecks.run(COLLECTIVES.get(c[1]), World.current().rank());
                    yield "COLL-MULTI OK";
                } catch (AssertionError e) {
                    yield "COLL-MULTI FAIL " + e.getMessage();
                }
            }
            case "coll-mismatch" -> "COLL-MISMATCH " + CollectiveChecks.mismatch(COLLECTIVES.get(c[1]),
                    World.current().rank(), c[2]);
            case "coll-block" -> {
                try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
                    ai.djl.ndarray.NDArray a = m.create(new float[] {1, 2}); // the engine is loaded before the call
                    System.out.println("COLL-BLOCKING " + c[1]);
                    COLLECTIVES.get(c[1]).allReduce(a, ReduceOp.SUM);
                    yield "COLL-BLOCK returned";
                } catch (MemberLostException e) {
                    yield "COLL-BLOCK-" + c[1] + " LOST " + e.member() + " " + java.time.Instant.now();
                }
            }
            case "nccl-checks" -> {
                try {
                    NcclChecks.run(COLLECTIVES.get(c[1]), World.current().rank());
                    yield "NCCL-CHECKS OK";
                } catch (AssertionError | RuntimeException e) {
                    yield "NCCL-CHECKS FAIL " + e;
                }
            }
            case "nccl-block" -> {
                // this rank's half of a CUDA all-reduce of float32 [2] stops after the header exchange: the other
                // rank passes it and waits inside NCCL for this one, until this JVM is killed
                CollectiveGroup cg = COLLECTIVES.get(c[1]);
                OpHeader h = new OpHeader(OpHeader.Op.ALL_REDUCE, -1, ReduceOp.SUM.ordinal(), DType.FLOAT32.code(),
                        true, 8, new long[] {2}, OpHeader.CUDA, cg.ranks().indexOf(World.current().rank()));
                CollectiveChecks.hostEngine(cg).agree(h, null, Deadline.in(Duration.ofSeconds(60), "nccl-block"));
                yield "NCCL-AGREED " + c[1];
            }
            case "ddp-train" -> "DDP-TRAIN " + DdpTraining.digest(DdpTraining.trainDataParallel(
                    COLLECTIVES.get(c[1]), World.current().rank(), World.current().members().size(), true));
            case "coll-destroy" -> {
                COLLECTIVES.remove(c[1]).destroy();
                yield "COLL-DESTROY OK";
            }
            default -> throw new IllegalArgumentException("unknown command " + c[0]);
        };
    }
}
