package com.example.samples;

import dev.tessera.pool.parallel.Parallel;
import dev.tessera.pool.ProcessPool;
import java.io.Serializable;
import java.util.List;
import java.util.stream.IntStream;

/**
 * A joblib-style Parallel over all CPUs with auto-batching and progress messages, the same on worker JVMs with
 * a result type of this package, then a process pool with Python's Pool.map and Pool.apply. Nothing here names
 * an allow-list: a task's own package and its arguments' packages are allowed in the workers automatically.
 */
public final class ParallelMap {
    private ParallelMap() {}

    /** A result type of the user's own package; it travels back from the worker JVMs. */
    record Stats(int x, long square, long pid) implements Serializable {}

    public static void main(String[] args) {
        List<Integer> inputs = IntStream.range(0, 10_000).boxed().toList();
        try (Parallel parallel = Parallel.builder().optNJobs(-1).optVerbose(2).build()) {
            List<Long> squares = parallel.map((Integer x) -> (long) x * x, inputs);
            System.out.println("sum of squares: " + squares.stream().mapToLong(Long::longValue).sum());
        }
        try (Parallel parallel = Parallel.builder().optNJobs(2).optBackend(Parallel.Backend.PROCESSES).build()) {
            List<Stats> stats = parallel.map((Integer x) -> new Stats(x, (long) x * x, ProcessHandle.current().pid()),
                    inputs.subList(0, 100));
            long workers = stats.stream().mapToLong(Stats::pid).distinct().count();
            System.out.println("100 results of this package's type from " + workers + " worker JVMs; last: "
                    + stats.get(99));
        }
        try (ProcessPool pool = ProcessPool.builder().optWorkers(2).build()) {
            System.out.println("apply in a worker JVM: " + pool.apply((Integer x) -> x * 2, 21));
            System.out.println("map over worker JVMs: " + pool.map((Integer x) -> x + 1, List.of(1, 2, 3)));
        }
    }
}
