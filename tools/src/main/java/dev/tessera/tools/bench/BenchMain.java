package dev.tessera.tools.bench;

import java.util.Arrays;

/**
 * Entry point of {@code ./tessera bench share|pool|queue|assign|dist|server|cli [--format table|json] [...]}: dispatches to
 * each module's benchmark. Each prints the machine it ran on and its figures.
 */
public final class BenchMain {
    private BenchMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
            System.out.println("Usage: ./tessera bench share|pool|queue|assign|dist|server|cli [--format table|json] "
                    + "[benchmark options]");
            System.exit(args.length == 0 ? 2 : 0);
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "assign" -> AssignBenchmark.main(rest);
            case "share" -> ShareBenchmark.main(rest);
            case "pool" -> PoolBenchmark.main(rest);
            case "queue" -> QueueBenchmark.main(rest);
            case "dist" -> DistBenchmark.main(rest);
            case "server" -> ServerBenchmark.main(rest);
            case "cli" -> CliBenchmark.main(rest);
            default -> {
                System.err.println("tessera bench: unknown benchmark '" + args[0]
                        + "' (expected share, pool, queue, assign, dist, server or cli)");
                System.exit(2);
            }
        }
    }
}
