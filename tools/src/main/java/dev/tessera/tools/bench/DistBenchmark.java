package dev.tessera.tools.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.tessera.distributed.CollectiveGroup;
import dev.tessera.distributed.MemberLostException;
import dev.tessera.distributed.ReduceOp;
import dev.tessera.distributed.RpcGroup;
import dev.tessera.distributed.Transport;
import dev.tessera.distributed.World;
import dev.tessera.sharedmem.DType;
import dev.tessera.sharedmem.SharedTensor;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

/**
 * {@code ./tessera bench dist [--format json] [--quick] [--ranks 2,4] [--rpc-only|--death-only]} ({@link #HELP}): {@code CollectiveGroup.allReduce} of 1 KB,
 * 1 MB and 64 MB float32 (shared tensors) with 2 and 4 ranks on this host, on the shared-memory path and on the TCP
 * path forced on one host, next to torch.distributed gloo measured in the same run by
 * {@code distributed/bench/gloo_allreduce_baseline.py}; then the time from kill -9 of one rank of three to
 * {@code MemberLostException} in the others' blocked all-reduce (both paths) and barrier. Every rank times each call
 * after a barrier; a row is rank 0's median. First, the median {@code rpcSync} round trip (an Integer each way)
 * between two JVMs, after 20,000 warm-up calls, and that of a 1 MiB and a 2 MiB float32 NDArray (argument out,
 * result back), by the World's rule (a shared-memory stub above 1 MiB) and with bytes forced. The ranks are child JVMs started on this JVM's class path.
 */
public final class DistBenchmark {
    private static final int[] SIZES = {1024, 1 << 20, 64 << 20};
    /** NDArray sizes of the RPC rows: the slow ones of issue #12 (1 MiB: bytes at the stub threshold; 2 MiB). */
    private static final long[] NDARRAY_SIZES = {1 << 20, 2 << 20};

    private DistBenchmark() {}

    static final String HELP = """
            Usage: ./tessera bench dist [--format table|json] [--quick] [--ranks 2,4] [--rpc-only | --death-only]
                                        [--python PATH] [--python-script PATH]

            The distributed module between rank JVMs on this host (child JVMs on this JVM's class path):
              rpc_round_trip       median rpcSync round trip between two JVMs, an Integer each way (5,000 timed after
                                   20,000 warm-up calls)
              rpc_ndarray-auto     the same with a 1 MiB and a 2 MiB float32 NDArray out and back, by the World's rule
                                   (a shared-memory stub above 1 MiB); rpc_ndarray-bytes: always as bytes
              all_reduce-shm/tcp   CollectiveGroup.allReduce of 1 KB, 1 MB and 64 MB float32 shared tensors, on the
                                   shared-memory path and on TCP forced on one host; every rank times each call after a
                                   barrier, a row is rank 0's median
              all_reduce-gloo      torch.distributed gloo in the same run, by distributed/bench/gloo_allreduce_baseline.py
                                   (skipped, with a line saying so, when it or Python is missing)
              member_death-*       from kill -9 of one rank of three to MemberLostException in the others' blocked
                                   all-reduce (both paths) and barrier

            Options:
              --format table|json   a table (default), or one JSON object per line
              --quick               a fifth to a tenth of the calls: a smoke run
              --ranks LIST          world sizes of the all-reduce rows (default 2,4; each 2 to 16)
              --rpc-only            only the RPC rows
              --death-only          only the member-death rows
              --python PATH         the Python for the gloo baseline (default /usr/bin/python3)
              --python-script PATH  the gloo script (default distributed/bench/gloo_allreduce_baseline.py, from the
                                    current directory)

            JSON line, one per case, world size and size ("bytes" is 0 for rpc_round_trip and member_death-*):
              {"bench": "dist", "case": "all_reduce-shm", "ranks": 2, "bytes": 1024, "medianMicros": 12.345}
            """;

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("rank")) {
            Rank.main(args);
            return;
        }
        BenchMain.main("dist", args);
    }

    /** The command line, checked; {@code rankCounts} is empty when only RPC or member death runs. */
    private record Options(boolean json, boolean quick, String python, Path script, int[] rankCounts, boolean rpc,
            boolean death) {}

    /** {@code bench dist ARGS}, checked. */
    static BenchMain.BenchRun parse(String[] args) {
        boolean json = false;
        boolean quick = false;
        String python = "/usr/bin/python3";
        Path script = Path.of("distributed/bench/gloo_allreduce_baseline.py");
        int[] rankCounts = {2, 4};
        boolean rpcOnly = false;
        boolean deathOnly = false;
        BenchArgs a = new BenchArgs(args, "--format table|json, --quick, --ranks 2,4, --rpc-only, --death-only, "
                + "--python PATH or --python-script PATH");
        while (a.hasNext()) {
            String arg = a.next();
            switch (arg) {
                case "--format" -> json = a.json();
                case "--quick" -> quick = true;
                case "--death-only" -> deathOnly = true;
                case "--rpc-only" -> rpcOnly = true;
                case "--python" -> python = a.value("--python");
                case "--python-script" -> script = Path.of(a.value("--python-script"));
                case "--ranks" -> rankCounts = rankCounts(a.value("--ranks"));
                default -> throw a.unknown(arg);
            }
        }
        if (rpcOnly && deathOnly) {
            throw new BenchUsageException("--rpc-only with --death-only (expected at most one of them)");
        }
        Options o = new Options(json, quick, python, script, rpcOnly || deathOnly ? new int[0] : rankCounts,
                !deathOnly, !rpcOnly);
        return () -> run(o);
    }

    private static int[] rankCounts(String list) {
        int[] counts = Arrays.stream(list.split(",")).mapToInt(c -> BenchArgs.intAtLeast("--ranks", c, 2)).toArray();
        if (Arrays.stream(counts).anyMatch(c -> c > 16)) {
            throw new BenchUsageException("--ranks " + list + " (expected world sizes of 2 to 16 rank JVMs)");
        }
        return counts;
    }

    private static void run(Options o) throws Exception {
        boolean json = o.json();
        if (!json) {
            System.out.println("machine: " + Machine.describe());
            System.out.printf("%-28s %6s %10s %14s%n", "case", "ranks", "bytes", "median us");
        }
        if (o.rpc()) {
            for (String mode : List.of("rpc", "rpc-bytes")) {
                for (String l : runRanks(2, mode, o.quick())) {
                    String[] f = l.split(" ");
                    report(json, f[1], 2, Long.parseLong(f[2]), Double.parseDouble(f[3]));
                }
            }
        }
        for (int ranks : o.rankCounts()) {
            gloo(o.python(), o.script(), ranks, o.quick(), json);
            List<String> lines = runRanks(ranks, "allreduce", o.quick());
            for (String l : lines) {
                String[] f = l.split(" ");
                report(json, "all_reduce-" + f[1], ranks, Long.parseLong(f[2]), Double.parseDouble(f[3]));
            }
        }
        if (o.death()) {
            death(json);
        }
    }

    /** Starts {@code n} rank JVMs in {@code mode}; returns rank 0's RESULT lines. */
    private static List<String> runRanks(int n, String mode, boolean quick) throws Exception {
        BenchProgress.step("dist", String.format(Locale.ROOT, "%s with %d rank JVMs%s", switch (mode) {
            case "rpc" -> "rpcSync round trips (Integer, then NDArrays by the World's rule)";
            case "rpc-bytes" -> "rpcSync round trips of NDArrays as bytes";
            default -> "all_reduce of 1 KB, 1 MB and 64 MB, shared memory then TCP";
        }, n, quick ? " (quick)" : ""));
        String coordinator = "127.0.0.1:" + freePort();
        List<Process> ps = new ArrayList<>();
        List<String> results = new ArrayList<>();
        try {
            for (int r = 0; r < n; r++) {
                ps.add(start(r, n, coordinator, mode, quick));
            }
            try (BufferedReader out = new BufferedReader(new InputStreamReader(ps.get(0).getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = out.readLine()) != null; ) {
                    if (line.startsWith("RESULT ")) {
                        results.add(line);
                        String[] f = line.split(" ");
                        BenchProgress.step("dist", String.format(Locale.ROOT, "%s, %d ranks: %s of %s bytes measured",
                                mode, n, f[1], f[2]));
                    }
                }
            }
            for (Process p : ps) {
                if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                    throw new IllegalStateException("a rank of the " + mode + " run failed (exit "
                            + (p.isAlive() ? "none" : p.exitValue()) + "); its stderr is in target/");
                }
            }
        } finally {
            ps.forEach(Process::destroyForcibly);
        }
        return results;
    }

    private static Process start(int rank, int size, String coordinator, String mode, boolean quick)
            throws IOException {
        return rankJvm(DistBenchmark.class, rank, size, coordinator, List.of("rank", mode, Boolean.toString(quick)))
                .start();
    }

    /**
     * A World member's JVM on this JVM's class path, running {@code main} with {@code args}: rank, world size and
     * coordinator in its environment, stderr inherited, stdout piped. Shared by the multi-JVM benchmarks.
     */
    static ProcessBuilder rankJvm(Class<?> main, int rank, int size, String coordinator, List<String> args) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"), "-Xmx1g",
                "-Djava.net.preferIPv4Stack=true", "-Dai.djl.offline=true", "--enable-native-access=ALL-UNNAMED",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", main.getName()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put(World.ENV_RANK, Integer.toString(rank));
        pb.environment().put(World.ENV_WORLD_SIZE, Integer.toString(size));
        pb.environment().put(World.ENV_COORDINATOR, coordinator);
        return pb;
    }

    /** Kill -9 of rank 2 of 3 while ranks 0 and 1 wait in all-reduce (both paths) and a barrier. */
    private static void death(boolean json) throws Exception {
        BenchProgress.step("dist", "member death: kill -9 of rank 2 of 3 while the others wait in all_reduce and barrier");
        String coordinator = "127.0.0.1:" + freePort();
        List<Process> ps = new ArrayList<>();
        LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        try {
            for (int r = 0; r < 3; r++) {
                Process p = start(r, 3, coordinator, "death", false);
                ps.add(p);
                Thread.ofPlatform().daemon().start(() -> {
                    try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
                            StandardCharsets.UTF_8))) {
                        for (String line; (line = out.readLine()) != null; ) {
                            lines.add(line);
                        }
                    } catch (IOException ignored) {
                        // the process ended
                    }
                });
            }
            int blocked = 0;
            while (blocked < 2) {
                String l = lines.poll(120, TimeUnit.SECONDS);
                if (l == null) {
                    throw new IllegalStateException("the death run's ranks did not block within 120 s");
                }
                blocked += l.equals("BLOCKED") ? 1 : 0;
            }
            Thread.sleep(500); // let the blocked calls settle into their waits (a benchmark, not a test)
            Instant killed = Instant.now();
            ps.get(2).destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            ConcurrentHashMap<String, Double> worst = new ConcurrentHashMap<>();
            for (int got = 0; got < 6; ) {
                String l = lines.poll(30, TimeUnit.SECONDS);
                if (l == null) {
                    throw new IllegalStateException("a survivor did not report within 30 s of the kill");
                }
                if (l.startsWith("LOST ")) {
                    String[] f = l.split(" ");
                    double micros = ChronoUnit.MICROS.between(killed, Instant.parse(f[2]));
                    worst.merge(f[1], micros, Math::max);
                    got++;
                }
            }
            for (var e : worst.entrySet()) {
                report(json, "member_death-" + e.getKey(), 3, 0, e.getValue());
            }
        } finally {
            ps.forEach(Process::destroyForcibly);
        }
    }

    private static void gloo(String python, Path script, int ranks, boolean quick, boolean json) throws Exception {
        if (!Files.isRegularFile(script) || !Files.isExecutable(Path.of(python))) {
            System.out.println(json ? "{\"bench\": \"dist\", \"case\": \"all_reduce-gloo\", \"skipped\": \"no "
                    + script + " or " + python + "\"}" : "gloo baseline skipped: no " + script + " or " + python);
            return;
        }
        List<String> cmd = new ArrayList<>(List.of(python, script.toString(), "--ranks", Integer.toString(ranks)));
        if (quick) {
            cmd.add("--quick");
        }
        BenchProgress.step("dist", "the gloo baseline with " + ranks + " ranks: " + String.join(" ", cmd));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("{")) {
                    long bytes = Long.parseLong(line.replaceAll(".*\"bytes\": ([0-9]+).*", "$1"));
                    double median = Double.parseDouble(line.replaceAll(".*\"medianMicros\": ([0-9.eE+-]+).*", "$1"));
                    report(json, "all_reduce-gloo", ranks, bytes, median);
                }
            }
        }
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
        }
    }

    private static void report(boolean json, String name, int ranks, long bytes, double median) {
        if (json) {
            System.out.printf(Locale.ROOT, "{\"bench\": \"dist\", \"case\": \"%s\", \"ranks\": %d, \"bytes\": %d, "
                    + "\"medianMicros\": %.3f}%n", name, ranks, bytes, median);
        } else {
            System.out.printf(Locale.ROOT, "%-28s %6d %10d %14.1f%n", name, ranks, bytes, median);
        }
        System.out.flush();
    }

    static int freePort() throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                int port = s.getLocalPort();
                if (port + 100 < 65535) {
                    try (ServerSocket fd = new ServerSocket(port + 100, 1, InetAddress.getLoopbackAddress())) {
                        return fd.getLocalPort() - 100; // the failure detector's port, 100 above, is free too
                    } catch (IOException taken) {
                        // try another
                    }
                }
            }
        }
        throw new IllegalStateException("no free loopback port pair");
    }

    /** One rank's side. */
    static final class Rank {
        private Rank() {}

        static void main(String[] args) throws Exception {
            boolean quick = Boolean.parseBoolean(args[2]);
            try (World world = World.builder().fromEnvironment().optJoinTimeout(Duration.ofSeconds(120))
                    .optTensorBytes(args[1].equals("rpc-bytes")).build()) {
                List<Integer> all = IntStream.range(0, world.worldSize()).boxed().toList();
                if (args[1].equals("death")) {
                    death(world, all);
                } else if (args[1].equals("rpc")) {
                    rpc(world, all, quick);
                    ndArrays(world, "rpc_ndarray-auto", quick);
                } else if (args[1].equals("rpc-bytes")) {
                    ndArrays(world, "rpc_ndarray-bytes", quick);
                } else {
                    allReduce(world, all, quick);
                }
            }
            System.exit(0);
        }

        /** The function rank 0 calls on rank 1: a small payload each way, as machin's RPC examples. */
        static Integer increment(Integer x) {
            return x + 1;
        }

        /** Rank 0 times {@code rpcSync} round trips to rank 1 (an Integer each way), after a warm-up. */
        private static void rpc(World world, List<Integer> all, boolean quick) {
            RpcGroup g = world.createRpcGroup("bench-rpc", world.members());
            if (world.rank() == 0) {
                String peer = world.members().get(1);
                int n = quick ? 1_000 : 5_000;
                for (int i = 0; i < (quick ? n : 4 * n); i++) { // warm-up: both JVMs' JIT compile the path
                    g.rpcSync(peer, Rank::increment, i);
                }
                double[] micros = new double[n];
                for (int i = 0; i < n; i++) {
                    long t0 = System.nanoTime();
                    g.rpcSync(peer, Rank::increment, i);
                    micros[i] = (System.nanoTime() - t0) / 1e3;
                }
                System.out.printf(Locale.ROOT, "RESULT rpc_round_trip 0 %.3f%n", QueueBenchmark.median(micros));
            }
            g.barrier(Duration.ofMinutes(5));
        }

        /** The function rank 0 calls on rank 1 with an NDArray: it comes back as the result. */
        static NDArray same(NDArray x) {
            return x;
        }

        /**
         * Rank 0 times {@code rpcSync} round trips of a float32 NDArray of each of {@link #NDARRAY_SIZES} bytes to
         * rank 1 and back (as the argument, then the result): by the World's rule (a stub above 1 MiB on one host,
         * so 1 MiB itself goes as bytes), or all as bytes when the World forces them.
         */
        private static void ndArrays(World world, String name, boolean quick) {
            RpcGroup g = world.createRpcGroup("bench-ndarray", world.members());
            if (world.rank() == 0) {
                String peer = world.members().get(1);
                int n = quick ? 20 : 200;
                try (NDManager m = world.manager().newSubManager()) {
                    for (long bytes : NDARRAY_SIZES) {
                        NDArray x = m.arange(0f, (float) (bytes / 4));
                        for (int i = 0; i < n / 4; i++) {
                            g.rpcSync(peer, Rank::same, x).close();
                        }
                        double[] micros = new double[n];
                        for (int i = 0; i < n; i++) {
                            long t0 = System.nanoTime();
                            g.rpcSync(peer, Rank::same, x).close();
                            micros[i] = (System.nanoTime() - t0) / 1e3;
                        }
                        System.out.printf(Locale.ROOT, "RESULT %s %d %.3f%n", name, bytes,
                                QueueBenchmark.median(micros));
                    }
                }
            }
            g.barrier(Duration.ofMinutes(5));
        }

        private static void allReduce(World world, List<Integer> all, boolean quick) {
            for (Transport t : List.of(Transport.SHARED_MEMORY, Transport.TCP)) {
                CollectiveGroup g = world.createCollectiveGroup("bench-" + t, all,
                        CollectiveGroup.options().optTransport(t).optTimeout(Duration.ofMinutes(5)));
                for (int bytes : SIZES) {
                    int n = bytes <= 4096 ? 2000 : bytes <= 4 << 20 ? 200 : 10;
                    n = quick ? Math.max(3, n / 10) : n;
                    try (SharedTensor x = SharedTensor.allocate(DType.FLOAT32, bytes / 4)) {
                        for (int i = 0; i < Math.max(2, n / 4); i++) {
                            g.allReduce(x, ReduceOp.SUM);
                        }
                        double[] micros = new double[n];
                        for (int i = 0; i < n; i++) {
                            g.barrier();
                            long t0 = System.nanoTime();
                            g.allReduce(x, ReduceOp.SUM);
                            micros[i] = (System.nanoTime() - t0) / 1e3;
                        }
                        if (world.rank() == 0) {
                            System.out.printf(Locale.ROOT, "RESULT %s %d %.3f%n",
                                    t == Transport.TCP ? "tcp" : "shm", bytes, QueueBenchmark.median(micros));
                        }
                    }
                }
                g.barrier();
                g.destroy();
            }
        }

        private static void death(World world, List<Integer> all) throws Exception {
            CollectiveGroup shm = world.createCollectiveGroup("d-shm", all,
                    CollectiveGroup.options().optTransport(Transport.SHARED_MEMORY));
            CollectiveGroup tcp = world.createCollectiveGroup("d-tcp", all,
                    CollectiveGroup.options().optTransport(Transport.TCP));
            CollectiveGroup bar = world.createCollectiveGroup("d-barrier", all);
            if (world.rank() == 2) {
                System.out.println("VICTIM");
                Thread.sleep(Long.MAX_VALUE); // killed by the benchmark
            }
            List<Thread> threads = new ArrayList<>();
            try (SharedTensor a = SharedTensor.allocate(DType.FLOAT32, 256);
                    SharedTensor b = SharedTensor.allocate(DType.FLOAT32, 256)) {
                threads.add(block("all_reduce_shm", () -> shm.allReduce(a, ReduceOp.SUM)));
                threads.add(block("all_reduce_tcp", () -> tcp.allReduce(b, ReduceOp.SUM)));
                threads.add(block("barrier", bar::barrier));
                System.out.println("BLOCKED");
                for (Thread t : threads) {
                    t.join(60_000);
                }
            }
        }

        private static Thread block(String name, Runnable op) {
            return Thread.ofPlatform().start(() -> {
                try {
                    op.run();
                    System.out.println("RETURNED " + name);
                } catch (MemberLostException e) {
                    System.out.println("LOST " + name + " " + Instant.now());
                }
            });
        }
    }
}
