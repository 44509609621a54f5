package dev.tessera.tools.bench;

import dev.tessera.sharedmem.DType;
import dev.tessera.sharedmem.SharedTensor;
import dev.tessera.sharedmem.StagingPool;
import dev.tessera.sharedmem.TensorCodec;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * {@code ./tessera bench share}: hands a tensor to a worker JVM and waits for its acknowledgement, three ways,
 * for each size. Single-threaded; not for concurrent use.
 *
 * <p>What one measurement is, from the parent's clock, between sending the message and reading the worker's
 * one-byte acknowledgement over a Unix domain socket:
 * <ol>
 *   <li>{@code stub}: the parent encodes its {@link SharedTensor} with a {@link TensorCodec.Mode#SHARE} codec
 *       (a single tensor travels in the codec's compact form: 17 bytes of header and a ~60-byte stub, one
 *       socket write). The worker decodes it: it opens the segment (maps it on the first handoff; afterwards
 *       its per-process mapping is reused), takes a cross-process reference (attach slot and CAS on the
 *       mapped count), checks the header and generation, reads the tensor's first and last byte through a
 *       {@code MemorySegment} view, closes the tensor (releases the reference and closes the view's arena,
 *       a handshake with the worker's threads) and only then acknowledges.
 *   <li>{@code copy}: the same with a {@link TensorCodec.Mode#COPY} codec that stages through a
 *       {@link StagingPool}: the parent copies the tensor (one memcpy) into a free pool segment whose pages
 *       are already allocated and mapped, and sends a stub the worker takes over; the worker owns an
 *       independent copy (the parent never sees its writes), reads the first and last byte, closes it (the
 *       segment goes back to the pool) and acknowledges. This is the steady state of repeated copies of one
 *       size: the first copy of a size also allocates the pool segment (warm-up runs absorb it; run
 *       {@code --warmup 0 --runs 1} to see it). {@code --copy-via stream} measures self-contained COPY
 *       messages instead: the bytes go through the socket into a new segment that the worker creates.
 *   <li>{@code memcpy}: one in-process {@code MemorySegment.copy} of the same size between two pre-faulted
 *       buffers, the physical reference for the copy.
 * </ol>
 *
 * <p>Each figure is the median of several runs after a warm-up: 1,001 stub handoffs after 500 at every size;
 * 101/101/21/11 copies and memcpys after 100/100/5/3 at 1 KB/1 MB/64 MB/1 GB (plus 5,000 warm-up handoffs of
 * each kind at 256 KiB before the first size). JVM start is excluded (the worker is started once). {@code --format json}
 * prints one line per mode and size:
 * {@code {"bench": "share", "mode": "stub", "bytes": 1024, "medianMicros": 42.0}}.
 */
public final class ShareBenchmark {
    private static final long[] DEFAULT_SIZES = {1L << 10, 1L << 20, 64L << 20, 1L << 30};

    private ShareBenchmark() {}

    static final String HELP = """
            Usage: ./tessera bench share [--format table|json] [--sizes 1KB,1MB,64MB,1GB] [--modes stub,copy,memcpy]
                                         [--copy-via staging|stream] [--runs N] [--warmup N]

            Hands a tensor to a worker JVM and waits for its one-byte acknowledgement over a Unix domain socket, three
            ways, for each size:
              stub    the parent sends its SharedTensor's stub (about 60 bytes); the worker maps the segment, takes a
                      reference, reads the first and last byte and closes it
              copy    the parent copies the tensor into a pre-mapped staging-pool segment and sends its stub; the
                      worker owns the copy (with --copy-via stream the bytes go through the socket instead)
              memcpy  one in-process MemorySegment.copy of the same size: the physical reference for copy
            Each figure is the median of the timed runs after a warm-up (and 5,000 warm-up handoffs of each kind at
            256 KB before the first size). The worker JVM starts once; its start is not timed.

            Options:
              --format table|json        a table (default), or one JSON object per line
              --sizes LIST               tensor sizes in B, KB, MB or GB (default 1KB,1MB,64MB,1GB)
              --modes LIST               which of stub, copy and memcpy to measure (default all three)
              --copy-via staging|stream  how copy travels (default staging)
              --runs N                   timed runs of each figure (default 1,001 for stub; for copy and memcpy 101,
                                         21 from 64 MB, 11 from 1 GB)
              --warmup N                 untimed runs before them (default 500 for stub; for copy and memcpy 100,
                                         5 from 64 MB, 3 from 1 GB)

            JSON line, one per mode and size:
              {"bench": "share", "mode": "stub", "bytes": 1024, "medianMicros": 42.0}
            """;

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("--worker")) {
            Worker.run(Path.of(args[1]));
            return;
        }
        BenchMain.main("share", args);
    }

    /** {@code bench share ARGS}, checked. */
    static BenchMain.BenchRun parse(String[] args) {
        Options options = Options.parse(args);
        return () -> print(run(options), options.json);
    }

    record Result(String mode, long bytes, double medianMicros) {}

    static List<Result> run(Options options) throws Exception {
        Path socketDir = Files.createTempDirectory("tessera-bench-");
        Path socketPath = socketDir.resolve("worker.sock");
        List<Result> results = new ArrayList<>();
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socketPath));
            BenchProgress.step("share", "starting the worker JVM, then 5,000 warm-up handoffs of each kind at 256 KB");
            Process worker = startWorker(socketPath);
            try (SocketChannel channel = server.accept();
                    StagingPool staging = StagingPool.builder().optMaxBytes(maxSize(options) + (256L << 20)).build()) {
                TensorCodec share = TensorCodec.builder().mode(TensorCodec.Mode.SHARE).build();
                TensorCodec.Builder copyBuilder = TensorCodec.builder().mode(TensorCodec.Mode.COPY);
                TensorCodec copy = options.stream ? copyBuilder.build() : copyBuilder.optStaging(staging).build();
                warmUp(channel, share, copy);
                for (long size : options.sizes) {
                    results.addAll(measureSize(channel, size, options, share, copy));
                }
                TensorCodec.builder().build().encode(0, channel); // a message that is not a tensor: stop
                worker.waitFor();
            } finally {
                worker.destroyForcibly();
                worker.waitFor();
            }
        } finally {
            Files.deleteIfExists(socketPath);
            Files.deleteIfExists(socketDir);
        }
        return results;
    }

    private static Process startWorker(Path socket) throws IOException {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                "--enable-native-access=ALL-UNNAMED", "-Dai.djl.offline=true"));
        String dir = System.getProperty("tessera.shm.dir");
        if (dir != null) {
            cmd.add("-Dtessera.shm.dir=" + dir);
        }
        cmd.addAll(List.of(ShareBenchmark.class.getName(), "--worker", socket.toString()));
        return new ProcessBuilder(cmd).inheritIO().start();
    }

    /** Lets both JVMs' JIT compile the codec, socket and mapping paths before anything is measured. */
    private static long maxSize(Options options) {
        return Arrays.stream(options.sizes).max().orElse(0);
    }

    private static void warmUp(SocketChannel channel, TensorCodec share, TensorCodec copy) throws IOException {
        try (SharedTensor tensor = SharedTensor.allocate(DType.UINT8, 256 << 10)) { // staged when copied
            for (int i = 0; i < 5_000; i++) {
                handOff(channel, share, tensor);
                handOff(channel, copy, tensor);
            }
        }
    }

    private static List<Result> measureSize(SocketChannel channel, long size, Options options, TensorCodec share,
            TensorCodec copy) throws IOException {
        // stubs are cheap at every size: many samples (~0.1 s) so that one transient (the previous size's
        // memory being freed) does not move the median; copies of big tensors take long, so fewer of them
        int stubRuns = options.runs > 0 ? options.runs : 1001;
        int stubWarmup = options.warmup >= 0 ? options.warmup : 500;
        int runs = options.runs > 0 ? options.runs : size >= (1L << 30) ? 11 : size >= (64L << 20) ? 21 : 101;
        int warmup = options.warmup >= 0 ? options.warmup : size >= (1L << 30) ? 3 : size >= (64L << 20) ? 5 : 100;
        List<Result> results = new ArrayList<>();
        try (SharedTensor tensor = SharedTensor.allocate(DType.UINT8, size)) {
            tensor.segment().fill((byte) 1);
            if (options.modes.contains("stub")) {
                progress("stub", size, stubWarmup, stubRuns);
                results.add(new Result("stub", size, median(stubWarmup, stubRuns, () -> handOff(channel, share, tensor))));
            }
            if (options.modes.contains("copy")) {
                progress("copy", size, warmup, runs);
                results.add(new Result("copy", size, median(warmup, runs, () -> handOff(channel, copy, tensor))));
            }
        }
        if (options.modes.contains("memcpy")) {
            progress("memcpy", size, warmup, runs);
            results.add(new Result("memcpy", size, memcpyMedian(size, warmup, runs)));
        }
        return results;
    }

    private static void progress(String mode, long size, int warmup, int runs) {
        BenchProgress.step("share", String.format(Locale.ROOT, "%s of %s: %d warm-up and %d timed runs", mode,
                human(size), warmup, runs));
    }

    /** One handoff: the message, then wait for the worker's one-byte acknowledgement. */
    private static long handOff(SocketChannel channel, TensorCodec codec, SharedTensor tensor) throws IOException {
        long start = System.nanoTime();
        codec.encode(tensor, channel);
        ByteBuffer ack = ByteBuffer.allocate(1);
        while (ack.hasRemaining()) {
            if (channel.read(ack) < 0) {
                throw new IOException("worker closed the connection");
            }
        }
        return System.nanoTime() - start;
    }

    private static double memcpyMedian(long size, int warmup, int runs) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(size, 64).fill((byte) 1);
            MemorySegment dst = arena.allocate(size, 64).fill((byte) 0);
            return median(warmup, runs, () -> {
                long start = System.nanoTime();
                MemorySegment.copy(src, 0, dst, 0, size);
                return System.nanoTime() - start;
            });
        }
    }

    interface Timed {
        long nanos() throws IOException;
    }

    private static double median(int warmup, int runs, Timed timed) throws IOException {
        for (int i = 0; i < warmup; i++) {
            timed.nanos();
        }
        long[] samples = new long[runs];
        for (int i = 0; i < runs; i++) {
            samples[i] = timed.nanos();
        }
        Arrays.sort(samples);
        double median = runs % 2 == 1 ? samples[runs / 2] : (samples[runs / 2 - 1] + samples[runs / 2]) / 2.0;
        return median / 1_000.0;
    }

    private static void writeFully(SocketChannel channel, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            channel.write(buf);
        }
    }

    private static void print(List<Result> results, boolean json) {
        if (json) {
            for (Result r : results) {
                System.out.printf(Locale.ROOT, "{\"bench\": \"share\", \"mode\": \"%s\", \"bytes\": %d, \"medianMicros\": %.1f}%n",
                        r.mode(), r.bytes(), r.medianMicros());
            }
            return;
        }
        System.out.printf(Locale.ROOT, "%10s %12s %12s %12s %11s %11s %9s%n", "bytes", "stub us", "copy us",
                "memcpy us", "copy GB/s", "memcpy GB/s", "copy/mem");
        for (long bytes : results.stream().mapToLong(Result::bytes).distinct().toArray()) {
            double stub = micros(results, "stub", bytes);
            double copy = micros(results, "copy", bytes);
            double mem = micros(results, "memcpy", bytes);
            System.out.printf(Locale.ROOT, "%10s %12s %12s %12s %11s %11s %9s%n", human(bytes), cell("%.1f", stub),
                    cell("%.1f", copy), cell("%.1f", mem), cell("%.2f", bytes / copy / 1e3),
                    cell("%.2f", bytes / mem / 1e3), cell("%.0f%%", 100 * mem / copy));
        }
    }

    private static String cell(String format, double value) {
        return Double.isNaN(value) ? "-" : String.format(Locale.ROOT, format, value);
    }

    private static double micros(List<Result> results, String mode, long bytes) {
        return results.stream().filter(r -> r.mode().equals(mode) && r.bytes() == bytes)
                .mapToDouble(Result::medianMicros).findFirst().orElse(Double.NaN);
    }

    private static String human(long bytes) {
        return bytes >= 1L << 30 ? (bytes >> 30) + " GB" : bytes >= 1L << 20 ? (bytes >> 20) + " MB"
                : bytes >= 1L << 10 ? (bytes >> 10) + " KB" : bytes + " B";
    }

    /** Command-line options; {@code runs}/{@code warmup} of -1 mean "by size". */
    record Options(boolean json, long[] sizes, List<String> modes, boolean stream, int runs, int warmup) {
        static Options parse(String[] args) {
            boolean json = false;
            boolean stream = false;
            long[] sizes = DEFAULT_SIZES;
            List<String> modes = List.of("stub", "copy", "memcpy");
            int runs = -1;
            int warmup = -1;
            BenchArgs a = new BenchArgs(args, "--format table|json, --sizes LIST, --modes LIST, --copy-via "
                    + "staging|stream, --runs N or --warmup N");
            while (a.hasNext()) {
                String arg = a.next();
                switch (arg) {
                    case "--format" -> json = a.json();
                    case "--sizes" -> sizes = sizes(a.value("--sizes"));
                    case "--modes" -> modes = modes(a.value("--modes"));
                    case "--copy-via" -> stream = a.choice("--copy-via", "staging", "stream").equals("stream");
                    case "--runs" -> runs = a.intAtLeast("--runs", 1);
                    case "--warmup" -> warmup = a.intAtLeast("--warmup", 0);
                    default -> throw a.unknown(arg);
                }
            }
            return new Options(json, sizes, modes, stream, runs, warmup);
        }

        private static long[] sizes(String list) {
            try {
                return Arrays.stream(list.split(",")).mapToLong(Options::parseSize).toArray();
            } catch (IllegalArgumentException | ArithmeticException e) { // not a number, 0, or past 2^63
                throw new BenchUsageException("--sizes " + list + " (expected sizes > 0 in B, KB, MB or GB, such as "
                        + "1KB,1MB,64MB,1GB)");
            }
        }

        private static List<String> modes(String list) {
            List<String> modes = List.of(list.split(","));
            for (String m : modes) {
                if (!List.of("stub", "copy", "memcpy").contains(m)) {
                    throw new BenchUsageException("--modes " + list + ": mode '" + m + "' (expected stub, copy or "
                            + "memcpy)");
                }
            }
            return modes;
        }

        static long parseSize(String text) {
            String t = text.strip().toUpperCase(Locale.ROOT);
            long unit = t.endsWith("GB") ? 1L << 30 : t.endsWith("MB") ? 1L << 20 : t.endsWith("KB") ? 1L << 10 : 1;
            String digits = unit == 1 ? t.replace("B", "") : t.substring(0, t.length() - 2);
            long size = Math.multiplyExact(Long.parseLong(digits.strip()), unit);
            if (size <= 0) {
                throw new IllegalArgumentException("size " + text + " (expected > 0)");
            }
            return size;
        }
    }

    /** The worker JVM: receives one message per handoff, touches the tensor, closes it, acknowledges. */
    static final class Worker {
        private Worker() {}

        static void run(Path socket) throws IOException {
            TensorCodec codec = TensorCodec.builder().build(); // decoding follows the message's own mode
            try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                ByteBuffer ack = ByteBuffer.allocate(1);
                while (codec.decode(channel, null) instanceof SharedTensor tensor) {
                    try (tensor) {
                        ack.clear().put(0, touch(tensor));
                    }
                    writeFully(channel, ack);
                }
            }
        }

        private static byte touch(SharedTensor t) {
            MemorySegment s = t.segment();
            return (byte) (s.get(ValueLayout.JAVA_BYTE, 0) + s.get(ValueLayout.JAVA_BYTE, s.byteSize() - 1));
        }
    }
}
