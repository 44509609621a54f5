package dev.tessera.tools.bench;

import dev.tessera.tools.internal.CliMessages;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Entry point of {@code ./tessera bench NAME [options]}: dispatches to each module's benchmark. Stateless and
 * thread-safe; a run holds what its benchmark holds until it returns. {@code --help} (or {@code -h}) prints the
 * benchmark's usage (what it measures, its options with their defaults, its JSON line) and exits 0; a bad argument
 * prints one {@code tessera: bad input: ...} line and exits 2 before anything is measured; a failing benchmark prints
 * one line and exits 1 ({@code --debug} adds the stack trace). Figures go to stdout, progress to stderr.
 */
public final class BenchMain {
    /** Exit code of a benchmark that failed while it ran. */
    static final int EXIT_FAILED = 1;
    /** Exit code of a bad command line. */
    static final int EXIT_BAD_INPUT = 2;

    /** A benchmark's run, its arguments already checked. */
    interface BenchRun {
        void run() throws Exception;
    }

    /**
     * One benchmark: its name, what it measures in a line (for {@code ./tessera bench --help}), its help, and its
     * parser, which checks every argument (a {@link BenchUsageException}) before anything runs.
     */
    record Bench(String name, String summary, String help, Function<String[], BenchRun> parser) {}

    static final Map<String, Bench> BENCHES = benches();

    private static Map<String, Bench> benches() {
        Map<String, Bench> m = new LinkedHashMap<>();
        for (Bench b : List.of(
                new Bench("share", "hand a tensor to a worker JVM by stub and by copy, next to memcpy (1 KB to 1 GB)",
                        ShareBenchmark.HELP, ShareBenchmark::parse),
                new Bench("pool", "per-task overhead of the sequential, thread and process pools; tensors to workers",
                        PoolBenchmark.HELP, PoolBenchmark::parse),
                new Bench("queue", "SimpleQueue latency and throughput between JVMs, next to Python's queues",
                        QueueBenchmark.HELP, QueueBenchmark::parse),
                new Bench("assign", "placement time and quality on synthetic and real graphs, next to METIS/Scotch",
                        AssignBenchmark.HELP, AssignBenchmark::parse),
                new Bench("dist", "RPC round trips, all-reduce over shared memory and TCP (next to gloo), member death",
                        DistBenchmark.HELP, DistBenchmark::parse),
                new Bench("server", "parameter servers between JVMs: ordered round trips, gradient throughput, A3C",
                        ServerBenchmark.HELP, ServerBenchmark::parse),
                new Bench("cli", "cold wall time of ./tessera assign, from the launcher's start to its exit",
                        CliBenchmark.HELP, CliBenchmark::parse))) {
            m.put(b.name(), b);
        }
        return Collections.unmodifiableMap(m);
    }

    private static final String COMMON = """

            Common options:
              --debug       On a failure, also print the Java stack trace.
              -h, --help    Show this help and exit.

            Figures go to stdout: a table, or with --format json one JSON object per line. Progress goes to stderr.
            Exit codes: 0 done; 1 the benchmark failed (one line on stderr); 2 bad arguments (one line on stderr).
            """;

    private BenchMain() {}

    public static void main(String[] args) {
        int code = run(System.out, System.err, args);
        System.out.flush();
        System.exit(code); // worker pools and peers may leave non-daemon threads behind
    }

    /** {@code ./tessera bench NAME ARGS}: a benchmark class's own {@code main}, once it has ruled out its worker roles. */
    static void main(String name, String[] args) {
        String[] all = new String[args.length + 1];
        all[0] = name;
        System.arraycopy(args, 0, all, 1, args.length);
        main(all);
    }

    /** Runs {@code ./tessera bench ARGS} with the given streams for help and errors; returns the exit code. */
    static int run(PrintStream out, PrintStream err, String... args) {
        List<String> rest = new ArrayList<>(Arrays.asList(args));
        boolean debug = rest.removeIf("--debug"::equals);
        if (rest.isEmpty()) {
            return badInput(err, null, new BenchUsageException("missing benchmark name (expected " + names() + ")"),
                    debug);
        }
        String name = rest.removeFirst();
        if (isHelp(name) || name.equals("help")) {
            out.print(overview());
            return 0;
        }
        Bench bench = BENCHES.get(name);
        if (bench == null) {
            return badInput(err, null, new BenchUsageException("unknown benchmark '" + name + "' (expected " + names()
                    + ")"), debug);
        }
        if (rest.stream().anyMatch(BenchMain::isHelp)) {
            out.print(bench.help() + COMMON);
            return 0;
        }
        try {
            BenchRun run = bench.parser().apply(rest.toArray(String[]::new)); // checks every argument first
            BenchProgress.start();
            run.run();
            return 0;
        } catch (BenchUsageException e) {
            return badInput(err, name, e, debug);
        } catch (Exception | Error e) { // the benchmark failed: one line, not a stack trace
            failed(err, name, e, debug);
            return EXIT_FAILED;
        }
    }

    private static boolean isHelp(String arg) {
        return arg.equals("--help") || arg.equals("-h");
    }

    private static String names() {
        return BenchArgs.or(List.copyOf(BENCHES.keySet()));
    }

    private static int badInput(PrintStream err, String name, BenchUsageException e, boolean debug) {
        String bench = name == null ? "bench" : "bench " + name;
        err.println("tessera: bad input: " + bench + ": " + message(name, e) + " (see ./tessera " + bench + " --help)");
        if (debug) {
            e.printStackTrace(err);
        }
        err.flush();
        return EXIT_BAD_INPUT;
    }

    private static void failed(PrintStream err, String name, Throwable e, boolean debug) {
        err.println("tessera: bench " + name + " failed: " + CliMessages.failure(e, message(name, e), debug));
        if (debug) {
            e.printStackTrace(err);
        }
        err.flush();
    }

    /** The exception's message on one line, without a leading {@code bench NAME: } that the line already says. */
    private static String message(String name, Throwable e) {
        String m = CliMessages.oneLine(e.getMessage());
        String prefix = "bench " + name + ": ";
        return m.startsWith(prefix) ? m.substring(prefix.length()) : m;
    }

    /** {@code ./tessera bench --help}. */
    static String overview() {
        StringBuilder s = new StringBuilder("""
                Usage: ./tessera bench NAME [OPTIONS]
                       ./tessera bench NAME --help     what NAME measures, its options and its JSON line

                Runs one benchmark on this machine and prints the machine and its figures.

                Benchmarks:
                """);
        BENCHES.values().forEach(b -> s.append(String.format("  %-8s %s%n", b.name(), b.summary())));
        s.append("""

                Every benchmark takes --format table|json (default table); see each one's --help for the rest.
                """);
        return s + COMMON;
    }
}
