package dev.tessera.distributed.testing;

import dev.tessera.distributed.RpcGroup;
import dev.tessera.distributed.World;
import java.time.Duration;

/**
 * A program for the launcher's tests. {@code env}: prints what the launcher put in the environment. {@code fail R C}:
 * rank R exits with code C at once, the others wait on stdin (which the launcher never closes) until stopped.
 * {@code world}: joins the World from the environment, passes a barrier and prints the members.
 */
public final class LaunchProbe {
    private LaunchProbe() {}

    public static void main(String[] args) throws Exception {
        int rank = Integer.parseInt(System.getenv(World.ENV_RANK));
        switch (args[0]) {
            case "env" -> System.out.println("rank " + rank + " of " + System.getenv(World.ENV_WORLD_SIZE) + " named "
                    + System.getenv(World.ENV_NAME) + " at " + System.getenv(World.ENV_COORDINATOR));
            case "fail" -> {
                if (rank == Integer.parseInt(args[1])) {
                    System.err.println("failing on purpose");
                    System.exit(Integer.parseInt(args[2]));
                }
                System.out.println("pid " + ProcessHandle.current().pid());
                System.in.read(); // blocks until the launcher stops this process
            }
            case "world" -> {
                try (World world = World.fromEnvironment()) {
                    RpcGroup g = world.createRpcGroup("all", world.members());
                    g.barrier(Duration.ofSeconds(60));
                    System.out.println("members " + world.members());
                    g.barrier(Duration.ofSeconds(60));
                }
            }
            default -> throw new IllegalArgumentException(args[0]);
        }
    }
}
