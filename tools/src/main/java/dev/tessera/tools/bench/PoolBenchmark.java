package dev.tessera.tools.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.tessera.pool.AsyncResult;
import dev.tessera.pool.parallel.Parallel;
import dev.tessera.pool.ProcessPool;
import dev.tessera.pool.SequentialPool;
import dev.tessera.pool.SerializableCallable;
import dev.tessera.pool.SerializableFunction;
import dev.tessera.pool.ThreadPool;
import dev.tessera.pool.WorkerCrashedException;
import dev.tessera.pool.WorkerPool;
import dev.tessera.sharedmem.DType;
import dev.tessera.sharedmem.SharedTensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;

/**
 * The pool benchmark ({@code ./tessera bench pool}): per-task overhead of {@code apply} round trips
 * and of {@code map} / {@code Parallel} over 100,000 tiny tasks on sequential, thread and process pools,
 * next to a plain {@link ExecutorService} measured in the same run; a 64 MB tensor ({@code SharedTensor}
 * and DJL {@code NDArray}) handed to a process worker by stub, by copy and by size (the default, {@code auto}:
 * inline up to {@code maxNbytes}, 1 MiB); 500 x 1 KB and 2 x 64 MB NDArrays mapped over a process pool in the
 * same three modes; and how fast a killed worker is detected. Every figure is the median of
 * several runs after a warm-up. Not thread-safe; run it alone on the machine for stable numbers.
 *
 * <p>Usage: {@code ./tessera bench pool [--format table|json] [--quick]} ({@link #HELP}).
 */
public final class PoolBenchmark {
    private static final int WORKERS = 2;
    private static final int MAP_TASKS = 100_000;
    private static final long TENSOR_BYTES = 64L << 20;

    private final boolean json;
    private final boolean quick;
    private final List<String[]> rows = new ArrayList<>();

    private PoolBenchmark(boolean json, boolean quick) {
        this.json = json;
        this.quick = quick;
    }

    static final String HELP = """
            Usage: ./tessera bench pool [--format table|json] [--quick]

            Per-task overhead of the worker pools (2 workers each), next to a plain ExecutorService measured in the
            same run:
              apply         median latency of one apply round trip (20,000 timed after 20,000 warm-up)
              map           tasks per second of map over 100,000 tiny tasks (median of 5 runs after 2 warm-up runs)
              parallel      the same through Parallel (joblib style, automatic batching)
              crash-detect  from kill -9 of a busy process worker to WorkerCrashedException (median of 3)
            on the sequential, thread and process pools; then a 64 MB SharedTensor and a 64 MB NDArray handed to a
            process worker, and map over 500 x 1 KB and 2 x 64 MB NDArrays, by stub, by copy and by size (auto, the
            default), the three modes taking turns. Run it alone on the machine for stable numbers.

            Options:
              --format table|json  a table with ratios to the executor (default), or one JSON object per line
              --quick              fewer calls and runs (2,000 apply calls, 3 runs, 10 tensor calls): a smoke run

            JSON line, one per pool and case; the metric is medianMicros, tasksPerSec or medianMillis, and the
            tensor cases add "bytes" (and "arrays"):
              {"bench": "pool", "pool": "thread", "case": "apply", "medianMicros": 12.3}
              {"bench": "pool", "pool": "process", "case": "2x64MB-auto", "arrays": 2, "bytes": 67108864, "medianMillis": 80.1}
            """;

    public static void main(String[] args) throws Exception {
        BenchMain.main("pool", args);
    }

    /** {@code bench pool ARGS}, checked. */
    static BenchMain.BenchRun parse(String[] args) {
        boolean json = false;
        boolean quick = false;
        BenchArgs a = new BenchArgs(args, "--format table|json or --quick");
        while (a.hasNext()) {
            String arg = a.next();
            switch (arg) {
                case "--format" -> json = a.json();
                case "--quick" -> quick = true;
                default -> throw a.unknown(arg);
            }
        }
        PoolBenchmark bench = new PoolBenchmark(json, quick);
        return bench::run;
    }

    private static void step(String what) {
        BenchProgress.step("pool", what);
    }

    private int applyCalls() {
        return quick ? 2_000 : 20_000;
    }

    private int runs() {
        return quick ? 3 : 5;
    }

    private void run() throws Exception {
        ExecutorService executor = Executors.newFixedThreadPool(WORKERS);
        try (WorkerPool sequential = SequentialPool.create();
                WorkerPool threads = ThreadPool.builder().optWorkers(WORKERS).build();
                WorkerPool processes = ProcessPool.builder().optWorkers(WORKERS).build()) {
            step(String.format(Locale.ROOT, "apply round trips (%,d after as many warm-up) on an executor, then the "
                    + "sequential, thread and process pools", applyCalls()));
            double execApply = applyExecutor(executor);
            report("executor", "apply", "medianMicros", execApply, Double.NaN);
            report("sequential", "apply", "medianMicros", applyPool(sequential), execApply);
            report("thread", "apply", "medianMicros", applyPool(threads), execApply);
            step("apply round trips on the process pool");
            report("process", "apply", "medianMicros", applyPool(processes), execApply);

            step(String.format(Locale.ROOT, "map of %,d tasks (%d runs after 2 warm-up) on an executor and the three "
                    + "pools", MAP_TASKS, runs()));
            double execMap = mapExecutor(executor);
            report("executor", "map", "tasksPerSec", execMap, Double.NaN);
            report("sequential", "map", "tasksPerSec", mapPool(sequential), execMap);
            report("thread", "map", "tasksPerSec", mapPool(threads), execMap);
            report("process", "map", "tasksPerSec", mapPool(processes), execMap);

            step(String.format(Locale.ROOT, "Parallel over %,d tasks on the three backends", MAP_TASKS));
            for (Parallel.Backend b : List.of(Parallel.Backend.SEQUENTIAL, Parallel.Backend.THREADS,
                    Parallel.Backend.PROCESSES)) {
                report(b == Parallel.Backend.SEQUENTIAL ? "sequential" : b == Parallel.Backend.THREADS ? "thread" : "process",
                        "parallel", "tasksPerSec", parallel(b), execMap);
            }
            step("crash detection: kill -9 of a busy process worker, 3 times");
            report("process", "crash-detect", "medianMicros", crashDetection(processes), Double.NaN);
        } finally {
            executor.shutdownNow();
        }
        tensors();
        if (!json) {
            printTable();
        }
    }

    private double applyExecutor(ExecutorService executor) throws Exception {
        Callable<Integer> task = () -> 1;
        return medianOfCalls(() -> executor.submit(task).get());
    }

    private double applyPool(WorkerPool pool) throws Exception {
        SerializableCallable<Integer> task = () -> 1;
        return medianOfCalls(() -> pool.apply(task));
    }

    private interface Call {
        void call() throws Exception;
    }

    /** Median latency in µs of single calls, after a warm-up of the same size. */
    private double medianOfCalls(Call call) throws Exception {
        int n = applyCalls();
        for (int i = 0; i < n; i++) {
            call.call();
        }
        long[] t = new long[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            call.call();
            t[i] = System.nanoTime() - t0;
        }
        return median(t) / 1e3;
    }

    private static List<Integer> inputs() {
        return IntStream.range(0, MAP_TASKS).boxed().toList();
    }

    /** A plain executor given the same chunks as {@code Pool.map}: ceil(n / (4 × workers)). */
    private double mapExecutor(ExecutorService executor) throws Exception {
        List<Integer> in = inputs();
        int chunk = (in.size() + 4 * WORKERS - 1) / (4 * WORKERS);
        return medianRate(() -> {
            List<Future<List<Integer>>> parts = new ArrayList<>();
            for (int from = 0; from < in.size(); from += chunk) {
                List<Integer> slice = in.subList(from, Math.min(from + chunk, in.size()));
                parts.add(executor.submit(() -> {
                    List<Integer> out = new ArrayList<>(slice.size());
                    for (Integer x : slice) {
                        out.add(x + 1);
                    }
                    return out;
                }));
            }
            List<Integer> all = new ArrayList<>(in.size());
            for (Future<List<Integer>> f : parts) {
                all.addAll(f.get());
            }
            check(all.size());
        });
    }

    private double mapPool(WorkerPool pool) throws Exception {
        List<Integer> in = inputs();
        return medianRate(() -> check(pool.map((Integer x) -> x + 1, in).size()));
    }

    /** joblib's {@code Parallel()(delayed(f)(x) for x in xs)} with automatic batching. */
    private double parallel(Parallel.Backend backend) throws Exception {
        List<SerializableCallable<Integer>> tasks = new ArrayList<>(MAP_TASKS);
        SerializableFunction<Integer, Integer> inc = x -> x + 1;
        for (int i = 0; i < MAP_TASKS; i++) {
            tasks.add(Parallel.delayed(inc, i));
        }
        try (Parallel p = Parallel.builder().optNJobs(backend == Parallel.Backend.SEQUENTIAL ? 1 : WORKERS)
                .optBackend(backend).build()) {
            return medianRate(() -> check(p.call(tasks).size()));
        }
    }

    private static void check(int size) {
        if (size != MAP_TASKS) {
            throw new IllegalStateException("got " + size + " results (expected " + MAP_TASKS + ")");
        }
    }

    /** Median tasks per second of {@code runs()} runs, after two warm-up runs. */
    private double medianRate(Call run) throws Exception {
        run.call();
        run.call();
        long[] t = new long[runs()];
        for (int i = 0; i < t.length; i++) {
            long t0 = System.nanoTime();
            run.call();
            t[i] = System.nanoTime() - t0;
        }
        return MAP_TASKS / (median(t) / 1e9);
    }

    /** Kills a busy worker with SIGKILL and measures until its task fails; the pool replaces it. */
    private double crashDetection(WorkerPool pool) throws Exception {
        Path dir = Files.createTempDirectory("tessera-bench-");
        long[] t = new long[3];
        try {
            for (int i = 0; i < t.length; i++) {
                String pidFile = dir.resolve("pid" + i).toString();
                AsyncResult<Object> r = pool.applyAsync((String f) -> {
                    Files.writeString(Path.of(f + ".tmp"), Long.toString(ProcessHandle.current().pid()));
                    Files.move(Path.of(f + ".tmp"), Path.of(f));
                    Thread.sleep(60_000);
                    return null;
                }, pidFile);
                while (!Files.exists(Path.of(pidFile))) {
                    Thread.sleep(1);
                }
                long pid = Long.parseLong(Files.readString(Path.of(pidFile)));
                long t0 = System.nanoTime();
                ProcessHandle.of(pid).orElseThrow().destroyForcibly();
                try {
                    r.get(Duration.ofSeconds(10));
                    throw new IllegalStateException("the killed worker's task succeeded");
                } catch (WorkerCrashedException expected) {
                    t[i] = System.nanoTime() - t0;
                }
                pool.apply(() -> 1); // wait for the replacement before the next round
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
        return median(t) / 1e3;
    }

    /**
     * Tensors through a process pool of one worker, by stub, by copy and by size ({@code auto}, the default):
     * a 64 MB {@code SharedTensor} (a stub is the tensor's own memory) and a 64 MB DJL {@code NDArray} (a stub
     * costs one copy into a fresh segment, which the worker maps) handed to a worker that reads one element;
     * then {@code map} over 500 x 1 KB and over 2 x 64 MB NDArrays, one task per array. The three modes take
     * turns within every round ({@link #compare}), so that load from other processes and JIT warm-up hit them
     * alike.
     */
    private void tensors() throws Exception {
        long floats = TENSOR_BYTES / 4;
        List<String> modes = List.of("stub", "copy", "auto");
        List<WorkerPool> pools = new ArrayList<>();
        try (SharedTensor tensor = SharedTensor.allocate(DType.FLOAT32, floats);
                NDManager manager = NDManager.newBaseManager()) {
            tensor.asByteBuffer().putFloat(0, 1.5f);
            NDArray array = arrays(manager, 1, TENSOR_BYTES).get(0);
            List<NDArray> small = arrays(manager, 500, 1024);
            List<NDArray> large = arrays(manager, 2, TENSOR_BYTES);
            for (String mode : modes) {
                ProcessPool.Builder b = ProcessPool.builder().optWorkers(1);
                pools.add(mode.equals("auto") ? b.build() : b.optCopyTensors(mode.equals("copy")).build());
            }
            int calls = quick ? 10 : 30;
            compare("tensor", "medianMicros", 1e3, 3, calls, modes, pools,
                    p -> check(List.of(p.apply((SharedTensor t) -> {
                        try (t) {
                            return t.asByteBuffer().getFloat(0);
                        }
                    }, tensor)), 1));
            compare("ndarray", "medianMicros", 1e3, 3, calls, modes, pools,
                    p -> check(List.of(p.apply((NDArray a) -> a.getFloat(0), array)), 1));
            compare("500x1KB", "medianMillis", 1e6, 1, runs(), modes, pools,
                    p -> check(p.map((NDArray a) -> a.getFloat(0), small), small.size()));
            compare("2x64MB", "medianMillis", 1e6, 1, runs(), modes, pools,
                    p -> check(p.map((NDArray a) -> a.getFloat(0), large), large.size()));
        } finally {
            for (WorkerPool p : pools) {
                p.close();
            }
        }
    }

    /** {@code count} FLOAT32 NDArrays of {@code bytes} bytes each, element 0 set to 1.5. */
    private static List<NDArray> arrays(NDManager manager, int count, long bytes) {
        List<NDArray> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            NDArray a = manager.zeros(new Shape(bytes / 4));
            a.set(new NDIndex(0), 1.5f);
            out.add(a);
        }
        return out;
    }

    /** Checks that the workers read 1.5 from each of {@code expected} arrays. */
    private static void check(List<Float> firsts, int expected) {
        if (firsts.size() != expected || firsts.stream().anyMatch(v -> v != 1.5f)) {
            throw new IllegalStateException("workers read " + firsts.subList(0, Math.min(3, firsts.size()))
                    + "... (expected " + expected + " times 1.5)");
        }
    }

    /** One timed call on one pool. */
    private interface PoolCall {
        void run(WorkerPool pool) throws Exception;
    }

    /**
     * Reports, for each mode, the median of {@code calls} timed calls on its pool (after {@code warmUps}), in
     * {@code unit} nanoseconds; every round calls each pool once in turn.
     */
    private void compare(String kase, String metric, double unit, int warmUps, int calls, List<String> modes,
            List<WorkerPool> pools, PoolCall call) throws Exception {
        step(String.format(Locale.ROOT, "%s to a process worker by %s in turn (%d timed rounds after %d)", kase,
                String.join(", ", modes), calls, warmUps));
        long[][] t = new long[pools.size()][calls];
        for (int i = -warmUps; i < calls; i++) {
            if (i > 0 && i % 10 == 0) {
                step(String.format(Locale.ROOT, "%s: round %d of %d", kase, i, calls));
            }
            for (int m = 0; m < pools.size(); m++) {
                long t0 = System.nanoTime();
                call.run(pools.get(m));
                if (i >= 0) {
                    t[m][i] = System.nanoTime() - t0;
                }
            }
        }
        for (int m = 0; m < pools.size(); m++) {
            report("process", kase + "-" + modes.get(m), metric, median(t[m]) / unit, Double.NaN);
        }
    }

    private static double median(long[] values) {
        long[] s = values.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
    }

    private void report(String pool, String kase, String metric, double value, double baseline) {
        if (json) {
            String extra = kase.startsWith("tensor") || kase.startsWith("ndarray") ? ", \"bytes\": " + TENSOR_BYTES
                    : kase.startsWith("500x1KB") ? ", \"arrays\": 500, \"bytes\": 1024"
                    : kase.startsWith("2x64MB") ? ", \"arrays\": 2, \"bytes\": " + TENSOR_BYTES : "";
            System.out.printf(Locale.ROOT, "{\"bench\": \"pool\", \"pool\": \"%s\", \"case\": \"%s\"%s, \"%s\": %.1f}%n",
                    pool, kase, extra, metric, value);
            System.out.flush();
        } else {
            String ratio = Double.isNaN(baseline) ? "" : metric.equals("medianMicros")
                    ? String.format(Locale.ROOT, "%.2fx executor latency", value / baseline)
                    : String.format(Locale.ROOT, "%.2fx executor rate", value / baseline);
            rows.add(new String[] {pool, kase, metric, String.format(Locale.ROOT, "%,.1f", value), ratio});
        }
    }

    private void printTable() {
        System.out.printf("%-11s %-13s %-13s %16s  %s%n", "pool", "case", "metric", "value", "vs executor (same run)");
        for (String[] r : rows) {
            System.out.printf("%-11s %-13s %-13s %16s  %s%n", (Object[]) r);
        }
    }
}
