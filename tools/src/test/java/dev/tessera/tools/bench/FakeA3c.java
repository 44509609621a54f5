package dev.tessera.tools.bench;

import java.util.Arrays;

/**
 * Stands in for the samples' {@code DistributedA3C} in {@link ServerBenchmarkTest}: checks that it was started with
 * {@code --format json} and prints what such a sample prints: a progress line, JSON rows and a line
 * that only looks like one.
 */
public final class FakeA3c {
    private FakeA3c() {}

    public static void main(String[] args) {
        if (!Arrays.equals(args, new String[] {"--format", "json"})) {
            System.err.println("expected --format json, got " + Arrays.toString(args));
            System.exit(3);
        }
        System.out.println("actors 2: episode 10, mean reward 22.5");
        System.out.println("{\"bench\": \"a3c\", \"case\": \"actors-2\", \"actors\": 2, \"stepsPerSec\": 1234.5}");
        System.out.println("{\"actors\": 1, \"solvedSeconds\": 61.0}");
        System.out.println("{ not json");
    }
}
