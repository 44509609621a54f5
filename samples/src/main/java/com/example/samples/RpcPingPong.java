package com.example.samples;

import dev.tessera.distributed.RpcGroup;
import dev.tessera.distributed.World;
import dev.tessera.distributed.launch.Launcher;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

/**
 * Two named World members call each other and share a service, as machin's RpcGroup examples do: "ping" pairs a
 * value and registers a counter service, "pong" reads the value, calls the service and calls back. Run without
 * arguments, it starts both members through Tessera's launcher; it exits 1 if an answer is wrong.
 */
public final class RpcPingPong {
    private static final int ROUNDS = 2_000;

    private RpcPingPong() {}

    /** A function run on the member that is called: it answers with its own name (a lambda in the user's package). */
    static String whoAmI() {
        return World.current().name();
    }

    public static void main(String[] args) throws Exception {
        if (System.getenv("TESSERA_RANK") == null) {
            System.exit(new Launcher(System.out, System.err).run(new String[] {"--nproc", "2",
                    RpcPingPong.class.getName()}));
        }
        String me = System.getenv("TESSERA_RANK").equals("0") ? "ping" : "pong";
        try (World world = World.builder().fromEnvironment().setName(me).build()) {
            RpcGroup group = world.createRpcGroup("game", world.members());
            String other = me.equals("ping") ? "pong" : "ping";
            if (me.equals("ping")) {
                long[] served = new long[1];
                group.pair("greeting", "hello from ping");
                group.register("counter", a -> {
                    synchronized (served) {
                        return ++served[0];
                    }
                });
            }
            group.barrier(Duration.ofSeconds(60)); // ping's value and service are in place

            String answer = group.rpcSync(other, RpcPingPong::whoAmI);
            check(answer.equals(other), "rpcSync answered '" + answer + "', expected '" + other + "'");
            if (me.equals("pong")) {
                String greeting = group.getPaired("greeting");
                check("hello from ping".equals(greeting), "the paired value was '" + greeting + "'");
                long count = group.registeredSync("counter");
                check(count == 1, "the counter service answered " + count);
                CompletableFuture<Long> second = group.registeredAsync("counter");
                check(second.get() == 2, "the async call answered " + second.get());
                long[] micros = new long[ROUNDS];
                for (int i = 0; i < ROUNDS; i++) {
                    long t0 = System.nanoTime();
                    group.rpcSync("ping", RpcPingPong::whoAmI);
                    micros[i] = (System.nanoTime() - t0) / 1_000;
                }
                Arrays.sort(micros);
                System.out.printf("pong: %d round trips to ping, median %d us, p99 %d us%n", ROUNDS,
                        micros[ROUNDS / 2], micros[ROUNDS * 99 / 100]);
            }
            group.barrier(Duration.ofSeconds(60)); // ping keeps its service until pong is done
            System.out.println(me + ": done, members " + world.members());
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.err.println("RpcPingPong: " + what);
            System.exit(1);
        }
    }
}
