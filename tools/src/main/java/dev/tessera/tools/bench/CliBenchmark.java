package dev.tessera.tools.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.tools.assign.GraphJson;
import dev.tessera.tools.assign.GraphSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code ./tessera bench cli [--format json] [--runs N]} ({@link #HELP}): the cold wall time of {@code ./tessera assign} as a user
 * sees it, from starting the launcher to its exit, on three graph files: two models, 1000×16 and 10000×64 (the
 * synthetic graphs of {@code bench assign}). Each run is a new JVM; one untimed run first fills the OS file cache.
 * Reports the median, minimum and maximum over the runs, the placement's own time (the median of what the CLI
 * reports), the median CPU time of the run (user + system of the reaped child, from {@code /proc/self/stat}; on an
 * idle machine with spare cores the wall time is close to it), and the load average before and after, since the
 * wall figures depend on what else the machine runs. Not
 * thread-safe; writes its graph files to a temporary folder, deleted at the end.
 */
final class CliBenchmark {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final long TIMEOUT_SECONDS = 600;

    private record Case(String name, GraphSpec graph, int runs) {}

    private CliBenchmark() {}

    static final String HELP = """
            Usage: ./tessera bench cli [--format table|json] [--runs N]

            The cold wall time of ./tessera assign GRAPH --format json as a user sees it, from starting the launcher to
            its exit, a new JVM each run, on three graph files: two models, 1000x16 and 10000x64 (the synthetic graphs
            of bench assign). One untimed run first fills the OS file cache. Reports the median, minimum and maximum
            wall time, the placement's own time (what the CLI reports), the CPU time of the run (user + system), and
            the load average before and after, since the wall figures depend on what else the machine runs.
            Needs the launcher: run it as ./tessera bench cli.

            Options:
              --format table|json  a table (default), or one JSON object per line
              --runs N             timed runs of each graph (default 5; 10000x64 gets (N+1)/2)

            JSON line, one per graph:
              {"bench":"cli","case":"1000x16","seconds":1.02,"minSeconds":0.98,"maxSeconds":1.10,"runs":[1.02,0.98,1.10],
               "placementSeconds":0.31,"cpuSeconds":1.65,"aotCache":true,"loadBefore":1.2,"loadAfter":1.4}
            """;

    static void main(String[] args) throws Exception {
        BenchMain.main("cli", args);
    }

    /** {@code bench cli ARGS}, checked. */
    static BenchMain.BenchRun parse(String[] args) {
        boolean json = false;
        int runs = 5;
        BenchArgs a = new BenchArgs(args, "--format table|json or --runs N");
        while (a.hasNext()) {
            String arg = a.next();
            switch (arg) {
                case "--format" -> json = a.json();
                case "--runs" -> runs = a.intAtLeast("--runs", 1);
                default -> throw a.unknown(arg);
            }
        }
        boolean j = json;
        int n = runs;
        return () -> run(j, n);
    }

    private static void run(boolean json, int runs) throws Exception {
        Path launcher = Path.of(System.getProperty("tessera.home", "."), "tessera").toAbsolutePath();
        if (!Files.isExecutable(launcher)) {
            throw new IllegalStateException("bench cli: no launcher at " + launcher + "; run it as ./tessera bench cli");
        }
        List<Case> cases = List.of(new Case("2-model", SyntheticGraphs.twoModels(), runs),
                new Case("1000x16", SyntheticGraphs.layers(1000, 16, 42), runs),
                new Case("10000x64", SyntheticGraphs.layers(10000, 64, 42), Math.max(1, (runs + 1) / 2)));
        Path dir = Files.createTempDirectory("tessera-bench-cli");
        try {
            if (!json) {
                System.out.println("machine: " + Machine.describe());
                System.out.println("cold wall time of ./tessera assign GRAPH --format json, a new JVM each run"
                        + (Files.exists(launcher.resolveSibling("tools/target/tessera.aot")) ? " (AOT cache present)"
                        : " (no AOT cache)"));
                System.out.printf(Locale.ROOT, "%-10s %8s %8s %8s %10s %6s %11s   %s%n", "case", "median", "min", "max",
                        "placement", "cpu", "load", "runs (s)");
            }
            BenchProgress.step("cli", "an untimed run to fill the file cache");
            run(launcher, dir, cases.get(0).graph(), dir.resolve("warm-up.json")); // the file cache, not timed
            for (Case c : cases) {
                measure(launcher, dir, c, json);
            }
        } finally {
            deleteTree(dir);
        }
    }

    private static void measure(Path launcher, Path dir, Case c, boolean json) throws Exception {
        boolean aotCache = Files.exists(launcher.resolveSibling("tools/target/tessera.aot"));
        Path file = dir.resolve(c.name() + ".json");
        double loadBefore = load();
        double[] wall = new double[c.runs()];
        double[] placement = new double[c.runs()];
        double[] cpu = new double[c.runs()];
        for (int r = 0; r < c.runs(); r++) {
            BenchProgress.step("cli", c.name() + ": run " + (r + 1) + " of " + c.runs());
            double cpuBefore = childrenCpuSeconds();
            long start = System.nanoTime();
            JsonNode result = run(launcher, dir, c.graph(), file);
            wall[r] = (System.nanoTime() - start) / 1e9;
            cpu[r] = childrenCpuSeconds() - cpuBefore;
            placement[r] = result.path("seconds").asDouble();
        }
        double loadAfter = load();
        double[] sorted = wall.clone();
        Arrays.sort(sorted);
        if (json) {
            ObjectNode o = MAPPER.createObjectNode();
            o.put("bench", "cli");
            o.put("case", c.name());
            o.put("seconds", median(wall));
            o.put("minSeconds", sorted[0]);
            o.put("maxSeconds", sorted[sorted.length - 1]);
            ArrayNode all = o.putArray("runs");
            Arrays.stream(wall).forEach(all::add);
            o.put("placementSeconds", median(placement));
            o.put("cpuSeconds", median(cpu));
            o.put("aotCache", aotCache);
            o.put("loadBefore", loadBefore);
            o.put("loadAfter", loadAfter);
            System.out.println(o);
        } else {
            StringBuilder detail = new StringBuilder();
            Arrays.stream(wall).forEach(w -> detail.append(String.format(Locale.ROOT, "%.2f ", w)));
            System.out.printf(Locale.ROOT, "%-10s %8.2f %8.2f %8.2f %10.2f %6.2f %5.2f-%5.2f   %s%n", c.name(),
                    median(wall), sorted[0], sorted[sorted.length - 1], median(placement), median(cpu), loadBefore,
                    loadAfter, detail.toString().trim());
        }
    }

    /** Writes {@code graph} to {@code file} (once) and runs the launcher's assign on it; returns its JSON result. */
    private static JsonNode run(Path launcher, Path dir, GraphSpec graph, Path file) throws Exception {
        if (!Files.exists(file)) {
            Files.writeString(file, GraphJson.write(graph));
        }
        Path out = dir.resolve("out.json");
        Path err = dir.resolve("err.txt");
        Process p = new ProcessBuilder(launcher.toString(), "assign", file.toString(), "--format", "json")
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            throw new IllegalStateException("bench cli: ./tessera assign " + file.getFileName() + " ran past "
                    + TIMEOUT_SECONDS + " s; killed");
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException("bench cli: ./tessera assign " + file.getFileName() + " exited with "
                    + p.exitValue() + ": " + Files.readString(err).strip());
        }
        return MAPPER.readTree(out.toFile());
    }

    private static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /**
     * User + system CPU seconds of this JVM's reaped children ({@code cutime + cstime} in {@code /proc/self/stat},
     * at the usual 100 ticks a second), or NaN off Linux. The launcher execs its JVM, so the child is the CLI.
     */
    private static double childrenCpuSeconds() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[13]) + Long.parseLong(f[14])) / 100.0; // fields 16 and 17, counted from 1
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /** The one-minute load average (/proc/loadavg), or NaN off Linux. */
    private static double load() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("bench cli: cannot delete " + dir, e);
        }
    }
}
