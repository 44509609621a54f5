package com.example.pingpong;

import dev.tessera.distributed.RpcGroup;
import dev.tessera.distributed.World;
import java.time.Duration;

/** The two-process example of distributed/README.md, run by LauncherTest through the launcher. */
public final class PingPong {
    private PingPong() {}

    static String greet(String from) {
        return "hello " + from + ", this is " + World.current().name();
    }

    public static void main(String[] args) {
        try (World world = World.fromEnvironment()) {                       // waits until both members joined
            RpcGroup group = world.createRpcGroup("pingpong", world.members());
            String peer = world.rank() == 0 ? "worker-1" : "worker-0";
            System.out.println(group.rpcSync(peer, PingPong::greet, world.name()));

            group.register("counter-" + world.rank(), a -> a.length);        // a service stays in its process
            group.pair("leader", world.name());                               // first writer wins, group-wide
            group.barrier(Duration.ofSeconds(30));                            // changes before it are seen after it
            System.out.println("leader: " + group.getPaired("leader"));       // the same on both
            int n = group.registeredSync("counter-" + (1 - world.rank()), 1, 2, 3);   // runs in the peer
            System.out.println("peer's service: " + n);
            group.barrier(Duration.ofSeconds(30));
        }
    }
}
