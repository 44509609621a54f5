package dev.tessera.tools.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.tessera.queue.SimpleQueue;
import dev.tessera.sharedmem.DType;
import dev.tessera.sharedmem.SharedTensor;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * {@code ./tessera bench queue [--format json] [--quick] [--cases 64MB,1p1c,python]}: {@code SimpleQueue}
 * between two JVMs, next to Python's {@code multiprocessing.SimpleQueue} and {@code torch.multiprocessing.Queue}
 * measured in the same run by {@code queue/bench/python_queue_baseline.py}; {@code --cases} runs only the cases
 * whose names contain one of the given strings.
 *
 * <p>Latency: a ping-pong between this JVM and a peer JVM over two queues; each round trip is timed and half of
 * it counts as one put-to-get latency. After a warm-up (JIT, first mappings), {@value #RUNS} runs are timed and
 * the median over all messages is reported. Cases: a small object (an {@code Integer}, which takes the queue's
 * compact encoding), a small list (Java serialization through {@code TensorCodec}), a 1 KB NDArray (copied
 * into the message, and as a stub, which puts it in a new segment each time), a 64 MB {@link SharedTensor} by
 * stub (the peer maps it and sends the stub back). Throughput: producer JVMs put small objects as fast as they
 * can, consumer JVMs take them; messages per second between the first and the last message taken, through
 * 4096 slots of the default 4 KiB, and (1/1) through 4096 slots of one cache line each.
 */
public final class QueueBenchmark {
    static final int RUNS = 5;
    /** Slot size of the small-slot throughput case: a 16-byte slot header and 48 bytes make one cache line. */
    static final int SMALL_SLOT_BYTES = 48;
    private static final Duration WAIT = Duration.ofSeconds(60);

    /** Every case, in the order they run; {@code --cases} picks those containing one of its substrings. */
    static final List<String> CASES = List.of("latency-small-object", "latency-small-serialized-list",
            "latency-1KB-ndarray-copy", "latency-1KB-ndarray-stub", "latency-64MB-sharedtensor-stub",
            "throughput-1p1c-small", "throughput-2p2c-small", "throughput-1p1c-small-48B-slots", "python");

    static final String HELP = """
            Usage: ./tessera bench queue [--format table|json] [--quick] [--cases LIST] [--python PATH]
                                         [--python-script PATH]

            SimpleQueue between JVMs on this host, next to Python's multiprocessing.SimpleQueue and
            torch.multiprocessing.Queue measured in the same run by queue/bench/python_queue_baseline.py:
              latency-*     a ping-pong with a peer JVM over two queues; half a round trip is one put-to-get latency,
                            the median over 5 runs after a warm-up: an Integer, a small list (Java serialization), a
                            1 KB NDArray copied and as a stub, a 64 MB SharedTensor as a stub
              throughput-*  producer JVMs put small objects as fast as they can, consumer JVMs take them: messages per
                            second through 4096 slots of 4 KiB (1p1c, 2p2c) and of one cache line (48B-slots)
              python        the Python script's lines (skipped, with a line saying so, when it or Python is missing)

            Options:
              --format table|json   a table (default), or one JSON object per line
              --quick               a tenth of the messages: a smoke run
              --cases LIST          run only the cases whose names contain one of these comma-separated substrings
                                    (default: every case), such as 64MB,1p1c,python
              --python PATH         the Python for the baseline (default /usr/bin/python3)
              --python-script PATH  the baseline script (default queue/bench/python_queue_baseline.py, from the
                                    current directory)

            JSON line, one per case (the unit is medianMicros or perSec; the Python script's lines follow as they are):
              {"bench": "queue", "case": "latency-small-object", "medianMicros": 12.345}
              {"bench": "queue", "case": "throughput-1p1c-small", "perSec": 1234567.890}
            """;

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].startsWith("peer-")) {
            Peer.main(args);
            return;
        }
        BenchMain.main("queue", args);
    }

    /** {@code bench queue ARGS}, checked. */
    static BenchMain.BenchRun parse(String[] args) {
        boolean json = false;
        boolean quick = false;
        String python = "/usr/bin/python3";
        String cases = "";
        Path script = Path.of("queue/bench/python_queue_baseline.py");
        BenchArgs a = new BenchArgs(args, "--format table|json, --quick, --cases LIST, --python PATH or "
                + "--python-script PATH");
        while (a.hasNext()) {
            String arg = a.next();
            switch (arg) {
                case "--format" -> json = a.json();
                case "--quick" -> quick = true;
                case "--python" -> python = a.value("--python");
                case "--python-script" -> script = Path.of(a.value("--python-script"));
                case "--cases" -> cases = a.value("--cases");
                default -> throw a.unknown(arg);
            }
        }
        QueueBenchmark bench = new QueueBenchmark(cases);
        for (String c : bench.cases) {
            if (CASES.stream().noneMatch(n -> n.contains(c))) {
                throw new BenchUsageException("--cases " + cases + ": '" + c + "' is in no case name (expected "
                        + "substrings of " + String.join(", ", CASES) + ")");
            }
        }
        boolean j = json;
        boolean q = quick;
        String py = python;
        Path sc = script;
        return () -> bench.run(j, q, py, sc);
    }

    /** Substrings of the case names to run (comma-separated); empty runs every case. */
    private final List<String> cases;

    private QueueBenchmark(String cases) {
        this.cases = Arrays.stream(cases.split(",")).map(String::strip).filter(c -> !c.isEmpty()).toList();
    }

    private boolean selected(String name) {
        return cases.isEmpty() || cases.stream().anyMatch(name::contains);
    }

    private void run(boolean json, boolean quick, String python, Path script) throws Exception {
        if (!json) {
            System.out.println("machine: " + Machine.describe());
        }
        int scale = quick ? 10 : 1;
        List<Double> small = new ArrayList<>(List.of(Double.NaN));
        try (NDManager manager = NDManager.newBaseManager()) {
            small.set(0, latency("latency-small-object", false, 20_000 / scale, () -> 42, json));
            java.util.ArrayList<Object> record = new java.util.ArrayList<>(List.of(1, 2.5, "step")); // via TensorCodec
            latency("latency-small-serialized-list", false, 10_000 / scale, () -> record, json);
            NDArray kb = manager.arange(0f, 256f); // 1 KB of float32
            latency("latency-1KB-ndarray-copy", true, 5_000 / scale, () -> kb, json);
            latency("latency-1KB-ndarray-stub", false, 2_000 / scale, () -> kb, json);
            try (SharedTensor big = SharedTensor.allocate(DType.FLOAT32, 16L << 20)) { // 64 MiB
                latency("latency-64MB-sharedtensor-stub", false, 1_000 / scale, () -> big, json);
            }
        }
        throughput("throughput-1p1c-small", 1, 1, 2_000_000 / scale, SimpleQueue.DEFAULT_MAX_MESSAGE_BYTES, json);
        throughput("throughput-2p2c-small", 2, 2, 1_000_000 / scale, SimpleQueue.DEFAULT_MAX_MESSAGE_BYTES, json);
        // slots sized for the messages (64-byte stride): the ring fits the caches instead of 4096 pages
        throughput("throughput-1p1c-small-48B-slots", 1, 1, 2_000_000 / scale, SMALL_SLOT_BYTES, json);
        if (selected("python")) {
            pythonBaseline(python, script, quick, json, small.get(0));
        }
    }

    /** Median one-way latency in microseconds over {@link #RUNS} runs of {@code count} round trips. */
    private double latency(String name, boolean copy, int count, Supplier<Object> message, boolean json)
            throws Exception {
        if (!selected(name)) {
            return Double.NaN;
        }
        BenchProgress.step("queue", String.format(Locale.ROOT, "%s: a peer JVM, %d runs of %,d round trips after %,d",
                name, RUNS, count, Math.max(200, count / 2)));
        try (NDManager manager = NDManager.newBaseManager();
                SimpleQueue ping = SimpleQueue.builder().optCapacity(16).optCopyTensors(copy).optManager(manager)
                        .create();
                SimpleQueue back = SimpleQueue.builder().optCapacity(16).optManager(manager).create();
                PeerJvm peer = PeerJvm.start("peer-echo", ping.name(), back.name(), Boolean.toString(copy))) {
            peer.expect("READY");
            int warmup = Math.max(200, count / 2);
            roundTrips(ping, back, message, warmup);
            double[] oneWay = new double[RUNS * count];
            for (int r = 0; r < RUNS; r++) {
                double[] run = roundTrips(ping, back, message, count);
                System.arraycopy(run, 0, oneWay, r * count, count);
            }
            ping.put("stop");
            peer.expect("DONE");
            double median = median(oneWay);
            report(json, name, "medianMicros", median);
            return median;
        }
    }

    private static double[] roundTrips(SimpleQueue ping, SimpleQueue back, Supplier<Object> message, int count) {
        double[] micros = new double[count];
        for (int i = 0; i < count; i++) {
            Object m = message.get();
            long start = System.nanoTime();
            ping.put(m);
            Object reply = back.get(WAIT);
            micros[i] = (System.nanoTime() - start) / 2_000.0;
            release(reply);
        }
        return micros;
    }

    private static void release(Object reply) {
        if (reply instanceof NDArray a) {
            a.close();
        } else if (reply instanceof SharedTensor t) {
            t.close();
        }
    }

    /**
     * Messages per second from {@code producers} to {@code consumers} JVMs, each producer putting {@code each},
     * through a queue of 4096 slots of {@code slotBytes}.
     */
    private void throughput(String name, int producers, int consumers, int each, int slotBytes, boolean json)
            throws Exception {
        if (!selected(name)) {
            return;
        }
        BenchProgress.step("queue", String.format(Locale.ROOT, "%s: %d producer and %d consumer JVMs, %,d messages "
                + "each", name, producers, consumers, each));
        List<PeerJvm> peers = new ArrayList<>();
        try (SimpleQueue q = SimpleQueue.builder().optCapacity(4096).optMaxMessageBytes(slotBytes).create();
                SimpleQueue start = SimpleQueue.create(16)) {
            try {
                for (int c = 0; c < consumers; c++) {
                    peers.add(PeerJvm.start("peer-consume", q.name()));
                }
                for (int p = 0; p < producers; p++) {
                    peers.add(PeerJvm.start("peer-produce", q.name(), start.name(), Integer.toString(each)));
                }
                for (PeerJvm peer : peers) {
                    peer.expect("READY");
                }
                for (int p = 0; p < producers; p++) {
                    start.put("go");
                }
                for (PeerJvm peer : peers.subList(consumers, peers.size())) {
                    peer.expect("DONE");
                }
                for (int c = 0; c < consumers; c++) {
                    q.put(-1);
                }
                long first = Long.MAX_VALUE;
                long last = Long.MIN_VALUE;
                long total = 0;
                for (PeerJvm peer : peers.subList(0, consumers)) {
                    String[] f = peer.expect("DONE").split(" ");
                    total += Long.parseLong(f[0]);
                    if (Long.parseLong(f[0]) > 0) {
                        first = Math.min(first, Long.parseLong(f[1]));
                        last = Math.max(last, Long.parseLong(f[2]));
                    }
                }
                if (total != (long) producers * each) {
                    throw new IllegalStateException(name + ": consumers took " + total + " messages, expected "
                            + (long) producers * each);
                }
                report(json, name, "perSec", total / ((last - first) / 1e9));
            } finally {
                for (PeerJvm peer : peers) {
                    peer.close();
                }
            }
        }
    }

    /**
     * Runs the Python script and prints its lines (JSON objects as they are; in the table, with the ratio of
     * Python's small-object latency to ours).
     */
    private void pythonBaseline(String python, Path script, boolean quick, boolean json, double smallMicros)
            throws Exception {
        if (!Files.isRegularFile(script) || !Files.isExecutable(Path.of(python))) {
            System.out.println(json ? "{\"bench\": \"queue\", \"case\": \"python-baseline\", \"skipped\": \""
                    + "no " + script + " or " + python + "\"}" : "python baseline skipped: no " + script + " or " + python);
            return;
        }
        List<String> cmd = new ArrayList<>(List.of(python, script.toString()));
        if (quick) {
            cmd.add("--quick");
        }
        BenchProgress.step("queue", "the Python baseline: " + String.join(" ", cmd));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null; line = r.readLine()) { // each line as it comes
                if (json) {
                    if (line.startsWith("{")) {
                        System.out.println(line);
                    } else {
                        BenchProgress.step("queue", "python: " + line);
                    }
                } else {
                    System.out.println("  python: " + line);
                }
                if (!json && line.contains("\"case\": \"python-latency-small-object-mp-simplequeue\"")) {
                    double py = Double.parseDouble(line.replaceAll(".*\"medianMicros\": ([0-9.eE+-]+).*", "$1"));
                    report(false, "ratio: Python SimpleQueue / Tessera, small object", "x", py / smallMicros);
                }
            }
        }
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
        }
    }

    private static void report(boolean json, String name, String unit, double value) {
        if (json) {
            System.out.printf(Locale.ROOT, "{\"bench\": \"queue\", \"case\": \"%s\", \"%s\": %.3f}%n", name, unit, value);
        } else {
            System.out.printf(Locale.ROOT, "%-52s %14.3f %s%n", name, value, unit);
        }
        System.out.flush();
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    /** The peer JVM's roles. */
    static final class Peer {
        private Peer() {}

        static void main(String[] args) throws Exception {
            switch (args[0]) {
                case "peer-echo" -> echo(args[1], args[2], Boolean.parseBoolean(args[3]));
                case "peer-produce" -> produce(args[1], args[2], Integer.parseInt(args[3]));
                case "peer-consume" -> consume(args[1]);
                default -> throw new IllegalArgumentException(args[0]);
            }
            System.out.flush();
        }

        private static void echo(String in, String out, boolean copy) {
            try (NDManager manager = NDManager.newBaseManager();
                    SimpleQueue q = SimpleQueue.builder().optManager(manager).open(in);
                    SimpleQueue reply = SimpleQueue.builder().optManager(manager).optCopyTensors(copy).open(out)) {
                System.out.println("READY");
                System.out.flush();
                while (true) {
                    Object m = q.get(WAIT);
                    if ("stop".equals(m)) {
                        break;
                    }
                    reply.put(m);
                    release(m);
                }
            }
            System.out.println("DONE");
        }

        private static void produce(String name, String start, int count) {
            try (SimpleQueue q = SimpleQueue.open(name); SimpleQueue go = SimpleQueue.open(start)) {
                for (int i = 0; i < 20_000; i++) { // warm-up of encode and put, outside the measured stream
                    if (q.offer(1_000_000_000 + i)) {
                        q.poll();
                    }
                }
                System.out.println("READY");
                System.out.flush();
                go.get(WAIT);
                for (int i = 0; i < count; i++) {
                    q.put(i);
                }
            }
            System.out.println("DONE");
        }

        private static void consume(String name) {
            long n = 0;
            long first = 0;
            long last = 0;
            try (SimpleQueue q = SimpleQueue.open(name)) {
                System.out.println("READY");
                System.out.flush();
                while (true) {
                    int v = (Integer) q.get(WAIT);
                    long now = System.nanoTime();
                    if (v == -1) {
                        break;
                    }
                    if (v >= 1_000_000_000) {
                        continue; // a producer's warm-up message that another consumer's poll did not take
                    }
                    if (n++ == 0) {
                        first = now;
                    }
                    last = now;
                }
            }
            System.out.println("DONE " + n + " " + first + " " + last);
        }
    }

    /** A peer JVM on this JVM's classpath; closing it kills it if it still runs. */
    static final class PeerJvm implements AutoCloseable {
        private final Process process;
        private final BufferedReader out;

        private PeerJvm(Process process) {
            this.process = process;
            this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        }

        static PeerJvm start(String... args) throws IOException {
            String java = ProcessHandle.current().info().command()
                    .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                    "-Dai.djl.offline=true", "--enable-native-access=ALL-UNNAMED",
                    "--sun-misc-unsafe-memory-access=allow", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"));
            String dir = System.getProperty("tessera.shm.dir");
            if (dir != null) {
                cmd.add("-Dtessera.shm.dir=" + dir);
            }
            cmd.add(QueueBenchmark.class.getName());
            cmd.addAll(List.of(args));
            return new PeerJvm(new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start());
        }

        /** Reads lines until one starts with {@code prefix}; fails if the peer exits first. */
        String expect(String prefix) throws IOException {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                if (line.startsWith(prefix)) {
                    return line.substring(prefix.length()).strip();
                }
            }
            throw new IllegalStateException("peer exited before printing " + prefix);
        }

        @Override
        public void close() throws IOException {
            try {
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor();
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
            out.close();
        }
    }
}
