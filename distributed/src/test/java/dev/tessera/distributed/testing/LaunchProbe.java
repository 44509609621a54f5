package dev.tessera.distributed.testing;

import dev.tessera.distributed.RpcGroup;
import dev.tessera.distributed.World;
import java.time.Duration;

/**
 * A program for the launcher's tests. {@code env}: prints what the launcher put in the environment. {@code fail R C}:
 * rank R exits with code C at once, the others wait on stdin (which the launcher never closes) until stopped.
 * {@code world}: joins the World from the environment, passes a barrier and prints the members.
 * {@code forget-close}: the same, but the last rank returns from main without closing its World, and the others
 * print the members once it left.
 */
public final class LaunchProbe {
    private LaunchProbe() {}

    private static String lastClassPathEntry() {
        String[] entries = System.getProperty("java.class.path").split(java.io.File.pathSeparator);
        return entries[entries.length - 1];
    }

    public static void main(String[] args) throws Exception {
        int rank = Integer.parseInt(System.getenv(World.ENV_RANK));
        switch (args[0]) {
            case "env" -> System.out.println("rank " + rank + " of " + System.getenv(World.ENV_WORLD_SIZE) + " named "
                    + System.getenv(World.ENV_NAME) + " at " + System.getenv(World.ENV_COORDINATOR)
                    + " with class path ending in " + lastClassPathEntry());
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
            case "forget-close" -> { // the last rank returns from main with its World open; the JVM must still exit
                World world = World.fromEnvironment();
                RpcGroup g = world.createRpcGroup("all", world.members());
                g.barrier(Duration.ofSeconds(60));
                System.out.println("members " + world.members());
                if (world.rank() != world.worldSize() - 1) {
                    Await.until(() -> world.members().size() < world.worldSize(), 60_000, "the last rank's leave");
                    System.out.println("members after the last rank's exit " + world.members());
                    world.close();
                }
            }
            default -> throw new IllegalArgumentException(args[0]);
        }
    }
}
