package dev.tessera.samples;

import dev.tessera.pool.Parallel;
import dev.tessera.pool.ProcessPool;
import java.util.List;
import java.util.stream.IntStream;

/**
 * A joblib-style Parallel over all CPUs with auto-batching and progress messages, then a process pool whose
 * workers are separate JVMs, with Python's Pool.map and Pool.apply.
 */
public final class ParallelMap {
    private ParallelMap() {}

    public static void main(String[] args) {
        List<Integer> inputs = IntStream.range(0, 10_000).boxed().toList();
        try (Parallel parallel = Parallel.builder().optNJobs(-1).optVerbose(2).build()) {
            List<Long> squares = parallel.map((Integer x) -> (long) x * x, inputs);
            System.out.println("sum of squares: " + squares.stream().mapToLong(Long::longValue).sum());
        }
        try (ProcessPool pool = ProcessPool.builder().optWorkers(2).build()) {
            System.out.println("apply in a worker JVM: " + pool.apply((Integer x) -> x * 2, 21));
            System.out.println("map over worker JVMs: " + pool.map((Integer x) -> x + 1, List.of(1, 2, 3)));
        }
    }
}
