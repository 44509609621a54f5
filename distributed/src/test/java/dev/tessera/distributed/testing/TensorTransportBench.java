package dev.tessera.distributed.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.tessera.distributed.Functions;
import dev.tessera.distributed.RpcGroup;
import dev.tessera.distributed.World;
import dev.tessera.distributed.server.OrderedServer;
import dev.tessera.distributed.server.ServerMemberMain;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Stub versus bytes between this JVM (worker-0) and a child (worker-1, hosting ordered server {@code s}) on this host:
 * the median RPC round trip of an NDArray (it goes out as the argument and comes back as the result), and the median
 * OrderedServer push then pull of one. Run by hand ({@code java -cp ... TensorTransportBench [stubs|bytes]}); both
 * modes when no argument is given, one World each (the mode is a World option).
 */
public final class TensorTransportBench {
    private static final long[] SIZES = {1L << 20, 2L << 20, 64L << 20};

    private TensorTransportBench() {}

    public static void main(String[] args) throws Exception {
        List<String> modes = args.length == 0 ? List.of("stubs", "bytes") : List.of(args);
        for (String mode : modes) {
            run(mode.equals("bytes"));
        }
    }

    private static void run(boolean bytes) throws Exception {
        String mode = bytes ? "bytes" : "stubs";
        String coordinator = Await.freeCoordinator();
        CompletableFuture<World> joining = CompletableFuture.supplyAsync(() -> World.builder().setName("worker-0")
                .setRank(0).setWorldSize(2).optCoordinator(coordinator).optTensorBytes(bytes)
                .optRpcTimeout(Duration.ofSeconds(120)).build());
        try (MemberJvm child = MemberJvm.start(ServerMemberMain.class, 1, 2, coordinator, true, List.of("-Xmx2g",
                "-D" + World.TENSOR_BYTES_PROPERTY + "=" + bytes), "hosted", "worker-1", "2");
                World world = joining.get(120, TimeUnit.SECONDS)) {
            RpcGroup g = world.createRpcGroup("g", world.members());
            OrderedServer s = OrderedServer.builder().setName("s").setGroup(g).optVersionDepth(2)
                    .optTimeout(Duration.ofSeconds(120)).optHost("worker-1").build();
            child.expect("READY", 60);
            try (NDManager m = world.manager().newSubManager()) {
                for (long size : SIZES) {
                    NDArray x = m.arange(0f, (float) (size / 4)).reshape(new Shape(size / 4));
                    int reps = size >= (64L << 20) ? 9 : 51;
                    long rpc = median(reps, () -> g.rpcSync("worker-1", Functions::same, x).close());
                    long[] version = {0};
                    long server = median(reps, () -> {
                        if (!s.push("x" + size, x, version[0] + 1, version[0])) {
                            throw new AssertionError("push of version " + (version[0] + 1) + " failed");
                        }
                        version[0]++;
                        ((NDArray) s.pull("x" + size)).close();
                    });
                    System.out.printf("%s %d bytes: rpc round trip %.2f ms, ordered push+pull %.2f ms%n", mode, size,
                            rpc / 1000.0, server / 1000.0);
                }
            }
            s.close();
            child.exit(60);
        }
    }

    /** Median microseconds of {@code reps} runs after {@code reps / 3 + 1} warm-up runs. */
    private static long median(int reps, Runnable r) {
        for (int i = 0; i < reps / 3 + 1; i++) {
            r.run();
        }
        long[] micros = new long[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            r.run();
            micros[i] = (System.nanoTime() - t0) / 1_000;
        }
        Arrays.sort(micros);
        return micros[reps / 2];
    }
}
