package dev.tessera.distributed.testing;

import dev.tessera.distributed.Functions;
import dev.tessera.distributed.RpcGroup;
import dev.tessera.distributed.World;
import java.util.Arrays;

/** Median rpcSync round trip between this JVM (rank 0) and a child member; for tuning by hand. */
public final class RoundTripBench {
    private RoundTripBench() {}

    public static void main(String[] args) throws Exception {
        String coordinator = Await.freeCoordinator();
        try (MemberJvm child = MemberJvm.start(1, 2, coordinator, true);
                World world = World.builder().setName("worker-0").setRank(0).setWorldSize(2).optCoordinator(coordinator)
                        .build()) {
            RpcGroup g = world.createRpcGroup("g", world.members());
            child.expect("READY", 60);
            for (int round = 0; round < 8; round++) {
                long[] micros = new long[5_000];
                for (int i = 0; i < micros.length; i++) {
                    long t0 = System.nanoTime();
                    g.rpcSync("worker-1", Functions::inc, i);
                    micros[i] = (System.nanoTime() - t0) / 1_000;
                }
                Arrays.sort(micros);
                System.out.printf("round %d: median %d us, p90 %d us%n", round, micros[micros.length / 2],
                        micros[micros.length * 9 / 10]);
            }
            child.exit(30);
        }
    }
}
