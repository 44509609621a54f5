package dev.tessera.tools.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * {@code ./tessera bench server [--format table|json] [--quick] [--cases ordered,grad,a3c] [--clients 1,2,4]
 * [--a3c-timeout SECONDS]} ({@link #HELP}): the parameter servers of {@code dev.tessera.distributed.server} between JVMs on this
 * host. Not thread-safe; every child JVM it starts is gone when it returns or throws.
 *
 * <p>Cases ({@code --cases} runs those whose names contain one of the given strings; default {@code ordered,grad}):
 * <ul>
 *   <li>{@code ordered-hosted-small}, {@code ordered-hosted-1MB}, {@code ordered-replicated-small},
 *       {@code ordered-replicated-1MB}: the median round trip of an {@code OrderedServer} push (the next version)
 *       followed by a pull of the key, from worker-1, of a {@code Long} and of a 1 MB float32 NDArray; hosted on
 *       worker-0, or replicated on a Raft group of worker-0..2 (worker-1 is one of the replicas);
 *   <li>{@code grad-1M-Nclients}: {@code PushPullGradServer} throughput for a 1,000,000-parameter DJL Linear (999
 *       inputs, 1000 units), set up by {@code Servers.gradServers} (primary and SGD on worker-0, every member a
 *       reducer, batches of 4); each of N client JVMs pulls the newest model when newer and pushes its gradients as
 *       fast as it can for a fixed time; gradients/s is the sum over the clients, MB/s counts 4 MB per gradient;
 *       the primary's applied batches and the reducers' drops are reported with it;
 *   <li>{@code a3c}, only when named: the hook for the {@code DistributedA3C} sample (samples module). If
 *       {@code com.example.samples.DistributedA3C} is on the class path (it is under {@code ./tessera}, whose class
 *       path holds the samples jar; tools does not depend on samples), it runs its {@code main} with each actor
 *       count of {@code --clients} and {@code --format json}, one child JVM at a time, and turns every JSON object it prints on stdout into a row
 *       ({@code "case"} becomes {@code a3c-CASE}; a case that is {@code a3c} or starts with {@code a3c-} stays, and none
 *       becomes {@code a3c}); otherwise one row says it was
 *       skipped and why.
 * </ul>
 *
 * <p>The World is {@code 1 + max(clients)} child JVMs (at least 3), formed once; the ranks run the selected cases
 * in order, each behind a barrier, and print {@code RESULT} lines (a JSON object) that this JVM turns into rows.
 * Waits are bounded: {@value #WORLD_TIMEOUT_SECONDS} s for the whole run, after which the children are killed.
 */
public final class ServerBenchmark {
    static final String A3C_CLASS = "com.example.samples.DistributedA3C";
    static final long WORLD_TIMEOUT_SECONDS = 600;
    static final ObjectMapper MAPPER = new ObjectMapper();

    private ServerBenchmark() {}

    /** The command line, checked. */
    record Options(boolean json, boolean quick, List<String> cases, int[] clients, long a3cTimeoutSeconds) {
        static Options parse(String[] args) {
            boolean json = false;
            boolean quick = false;
            String cases = "ordered,grad";
            int[] clients = {1, 2, 4};
            long a3cTimeout = 600;
            BenchArgs a = new BenchArgs(args, "--format table|json, --quick, --cases ordered,grad,a3c, --clients 1,2,4 "
                    + "or --a3c-timeout SECONDS");
            while (a.hasNext()) {
                String arg = a.next();
                switch (arg) {
                    case "--format" -> json = a.json();
                    case "--quick" -> quick = true;
                    case "--cases" -> cases = a.value("--cases");
                    case "--clients" -> clients = clientCounts(a.value("--clients"));
                    case "--a3c-timeout" -> a3cTimeout = a.intAtLeast("--a3c-timeout", 1);
                    default -> throw a.unknown(arg);
                }
            }
            List<String> selected = Arrays.stream(cases.split(",")).map(String::strip).filter(c -> !c.isEmpty())
                    .toList();
            if (selected.isEmpty()) {
                throw new BenchUsageException("--cases '" + cases + "' (expected substrings of case names, such as "
                        + "ordered,grad,a3c)");
            }
            List<String> names = caseNames(clients);
            for (String c : selected) {
                if (names.stream().noneMatch(n -> n.contains(c))) {
                    throw new BenchUsageException("--cases " + cases + ": '" + c + "' is in no case name (expected "
                            + "substrings of " + String.join(", ", names) + ")");
                }
            }
            return new Options(json, quick, selected, clients, a3cTimeout);
        }

        /** Every case a run with these client counts can have. */
        static List<String> caseNames(int[] clients) {
            List<String> names = new ArrayList<>(List.of("ordered-hosted-small", "ordered-hosted-1MB",
                    "ordered-replicated-small", "ordered-replicated-1MB"));
            Arrays.stream(clients).forEach(n -> names.add("grad-1M-" + n + "clients"));
            names.add("a3c");
            return names;
        }

        boolean selected(String caseName) {
            return cases.stream().anyMatch(caseName::contains);
        }

        /** The JVMs of the World: a primary and the most clients, and at least the three Raft replicas. */
        int worldSize() {
            return Math.max(3, 1 + Arrays.stream(clients).max().orElse(1));
        }

        private static int[] clientCounts(String text) {
            int[] counts = Arrays.stream(text.split(",")).mapToInt(c -> BenchArgs.intAtLeast("--clients", c, 1))
                    .toArray();
            if (Arrays.stream(counts).anyMatch(c -> c > 16)) {
                throw new BenchUsageException("--clients " + text + " (expected counts of 1 to 16 client JVMs)");
            }
            return counts;
        }
    }

    static final String HELP = """
            Usage: ./tessera bench server [--format table|json] [--quick] [--cases ordered,grad,a3c] [--clients 1,2,4]
                                          [--a3c-timeout SECONDS]

            The parameter servers of dev.tessera.distributed.server between JVMs on this host: one World of
            1 + max(clients) child JVMs (at least 3), formed once, runs the selected cases in order:
              ordered-hosted-small, ordered-hosted-1MB, ordered-replicated-small, ordered-replicated-1MB
                  median round trip of an OrderedServer push then pull, of a Long and of a 1 MB float32 NDArray,
                  hosted on worker-0 or replicated on a Raft group of worker-0..2
              grad-1M-Nclients
                  PushPullGradServer throughput of a 1,000,000-parameter Linear: N client JVMs pull when newer and
                  push gradients for a fixed time (5 s, 2 s with --quick); gradients/s summed over the clients
              a3c (only when named)
                  the DistributedA3C sample (samples module) with each actor count of --clients, one child JVM at a
                  time; each JSON object it prints becomes a row
            The whole World run is bounded by 600 s, after which its JVMs are killed.

            Options:
              --format table|json    a table (default), or one JSON object per line
              --quick                fewer calls and a shorter push window: a smoke run
              --cases LIST           run the cases whose names contain one of these comma-separated substrings
                                     (default ordered,grad)
              --clients LIST         client JVM counts of the grad rows and actor counts of a3c (default 1,2,4;
                                     each 1 to 16)
              --a3c-timeout SECONDS  bound on each a3c run (default 600)

            JSON line, one per case: "bench" and "case", then the case's fields, for example
              {"bench":"server","case":"ordered-hosted-small","bytes":8,"calls":1000,"medianMicros":250.1,"p90Micros":310.2}
              {"bench":"server","case":"grad-1M-2clients","clients":2,"parameters":1000000,"pushes":120,
               "gradientsPerSec":24.0,"mbPerSec":96.0,"received":120,"appliedBatches":30,"droppedStale":0,
               "droppedOverflow":0}
            """;

    /** {@code bench server ARGS}, checked. */
    static BenchMain.BenchRun parse(String[] args) {
        Options o = Options.parse(args);
        return () -> run(o);
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("rank")) {
            ServerBenchRank.main(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        BenchMain.main("server", args);
    }

    private static void run(Options o) throws Exception {
        if (!o.json()) {
            System.out.println("machine: " + Machine.describe());
        }
        if (o.selected("ordered") || o.selected("grad")) {
            for (ObjectNode r : runWorld(o)) {
                System.out.println(row(o.json(), r));
            }
        }
        if (o.cases().stream().anyMatch("a3c"::contains)) {
            for (int actors : o.clients()) { // one run per actor count: the sample's first argument
                BenchProgress.step("server", "a3c: " + A3C_CLASS + " with " + actors + " actor(s), up to "
                        + o.a3cTimeoutSeconds() + " s");
                for (ObjectNode r : a3c(A3C_CLASS, o.a3cTimeoutSeconds(), Integer.toString(actors))) {
                    System.out.println(row(o.json(), r));
                }
            }
        }
        System.out.flush();
    }

    /**
     * One output line: in JSON, {@code {"bench":"server","case":...}} and the row's other fields in order; as a
     * table, the case name and {@code field=value} pairs.
     */
    static String row(boolean json, ObjectNode fields) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("bench", "server");
        o.set("case", fields.get("case"));
        fields.properties().forEach(e -> {
            if (!e.getKey().equals("case")) {
                o.set(e.getKey(), e.getValue());
            }
        });
        if (json) {
            return o.toString();
        }
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-28s", fields.path("case").asText()));
        for (Iterator<Map.Entry<String, JsonNode>> it = fields.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getKey().equals("case")) {
                JsonNode v = e.getValue();
                line.append(' ').append(e.getKey()).append('=').append(v.isFloatingPointNumber()
                        ? String.format(Locale.ROOT, "%.3f", v.asDouble()) : v.asText());
            }
        }
        return line.toString();
    }

    /** Starts the World's JVMs, collects their RESULT rows in the order printed, and leaves no JVM behind. */
    private static List<ObjectNode> runWorld(Options o) throws Exception {
        int size = o.worldSize();
        String coordinator = "127.0.0.1:" + DistBenchmark.freePort();
        String clients = String.join(",", Arrays.stream(o.clients()).mapToObj(Integer::toString).toList());
        List<String> rankArgs = List.of("rank", Boolean.toString(o.quick()), Boolean.toString(o.selected("ordered")),
                o.selected("grad") ? clients : "");
        List<Process> ps = new ArrayList<>();
        LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        List<ObjectNode> rows = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WORLD_TIMEOUT_SECONDS);
        BenchProgress.step("server", "a World of " + size + " rank JVMs for " + String.join(",", o.cases())
                + " (up to " + WORLD_TIMEOUT_SECONDS + " s)");
        try {
            for (int r = 0; r < size; r++) {
                Process p = DistBenchmark.rankJvm(ServerBenchmark.class, r, size, coordinator, rankArgs).start();
                ps.add(p);
                readLines(p, lines);
            }
            int finished = 0;
            while (finished < size) {
                String l = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (l == null) {
                    throw new IllegalStateException("bench server: the ranks did not finish within "
                            + WORLD_TIMEOUT_SECONDS + " s; killed");
                }
                if (l.startsWith("RESULT ")) {
                    ObjectNode row = (ObjectNode) MAPPER.readTree(l.substring(7));
                    rows.add(row);
                    BenchProgress.step("server", row.path("case").asText() + " measured (its row is printed at the end)");
                } else if (l.equals(EOF)) {
                    finished++;
                }
            }
            for (int r = 0; r < size; r++) {
                Process p = ps.get(r);
                if (!p.waitFor(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)
                        || p.exitValue() != 0) {
                    throw new IllegalStateException("bench server: rank " + r + " failed (exit "
                            + (p.isAlive() ? "none: still running" : p.exitValue()) + "; its stderr is above)");
                }
            }
        } finally {
            kill(ps);
        }
        return rows;
    }

    /** A line the reader threads add when a child's stdout ends. */
    private static final String EOF = "\u0000EOF";

    private static void readLines(Process p, LinkedBlockingQueue<String> lines) {
        Thread.ofPlatform().daemon().name("bench-server-out-" + p.pid()).start(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = out.readLine()) != null; ) {
                    lines.add(line);
                }
            } catch (IOException ignored) {
                // the process ended
            } finally {
                lines.add(EOF);
            }
        });
    }

    private static void kill(List<Process> ps) throws InterruptedException {
        for (Process p : ps) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        for (Process p : ps) {
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /**
     * The {@code a3c} hook: runs {@code className}'s {@code main} with {@code args} and {@code --format json} in a
     * child JVM on this JVM's class path (bounded by {@code timeoutSeconds}) and returns a row per JSON object it
     * printed, or one {@code skipped} row when the class is not on the class path.
     */
    static List<ObjectNode> a3c(String className, long timeoutSeconds, String... args) throws Exception {
        try {
            Class.forName(className, false, ServerBenchmark.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            ObjectNode skipped = MAPPER.createObjectNode().put("case", "a3c").put("skipped", className + " is not on "
                    + "the class path (it is in the samples module: run ./tessera bench server --cases a3c, whose "
                    + "class path holds the samples jar)");
            return List.of(skipped);
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                "-Dai.djl.offline=true", "--enable-native-access=ALL-UNNAMED",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", className));
        command.addAll(List.of(args));
        command.addAll(List.of("--format", "json"));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        List<ObjectNode> rows = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        try {
            readLines(p, lines);
            for (String l; !(l = next(lines, deadline, className, timeoutSeconds)).equals(EOF); ) {
                ObjectNode r = a3cRow(l);
                if (r != null) {
                    rows.add(r);
                }
            }
            if (!p.waitFor(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("bench server: " + className + " --format json failed (exit "
                        + (p.isAlive() ? "none: still running" : p.exitValue()) + "; its stderr is above)");
            }
        } finally {
            kill(List.of(p));
        }
        return rows;
    }

    private static String next(LinkedBlockingQueue<String> lines, long deadline, String className, long timeout)
            throws InterruptedException {
        String l = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (l == null) {
            throw new IllegalStateException("bench server: " + className + " ran past " + timeout + " s "
                    + "(--a3c-timeout); killed");
        }
        return l;
    }

    /** A row of the A3C sample's output line, or null if the line is not a JSON object. */
    static ObjectNode a3cRow(String line) {
        if (!line.strip().startsWith("{")) {
            return null;
        }
        JsonNode n;
        try {
            n = MAPPER.readTree(line);
        } catch (JsonProcessingException e) {
            return null;
        }
        if (!(n instanceof ObjectNode o)) {
            return null;
        }
        o.remove("bench");
        String own = o.path("case").asText("");
        o.remove("case");
        ObjectNode r = MAPPER.createObjectNode().put("case",
                own.isEmpty() || own.equals("a3c") || own.startsWith("a3c-") ? (own.isEmpty() ? "a3c" : own) : "a3c-" + own);
        r.setAll(o);
        return r;
    }
}
