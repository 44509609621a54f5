package dev.tessera.assigner.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.assigner.Device;
import dev.tessera.assigner.Devices;
import dev.tessera.assigner.Placement;
import dev.tessera.assigner.PlacementInfeasibleException;
import dev.tessera.assigner.PlacementMethod;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The placement CLI ({@code ./tessera assign} and {@code ./tessera demo}). Exit codes: 0 success, 2 bad input
 * (the message names the file, field or line), 3 infeasible.
 */
@Command(
        name = "tessera",
        mixinStandardHelpOptions = true,
        subcommands = {AssignCli.Assign.class, AssignCli.Demo.class},
        description = "Places models (or the layers of one model) on GPUs and the CPU.")
public final class AssignCli {
    public static final int EXIT_BAD_INPUT = 2;
    public static final int EXIT_INFEASIBLE = 3;

    public static void main(String[] args) {
        System.exit(run(System.out, System.err, args));
    }

    /** Runs the CLI with the given streams and returns the exit code (for tests and embedding). */
    public static int run(PrintStream out, PrintStream err, String... args) {
        CommandLine cli = new CommandLine(new AssignCli());
        cli.setOut(new java.io.PrintWriter(out, true));
        cli.setErr(new java.io.PrintWriter(err, true));
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof GraphFormatException || ex instanceof IllegalArgumentException) {
                err.println("tessera: bad input: " + ex.getMessage());
                return EXIT_BAD_INPUT;
            }
            if (ex instanceof PlacementInfeasibleException) {
                err.println("tessera: infeasible: " + ex.getMessage());
                return EXIT_INFEASIBLE;
            }
            throw ex;
        });
        return cli.execute(args);
    }

    enum Format {
        table,
        json
    }

    enum InputFormat {
        json,
        pipedream
    }

    @Command(name = "assign", mixinStandardHelpOptions = true,
            description = "Place the models of GRAPH on devices and print where each goes.")
    static final class Assign implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "GRAPH", description = "Graph file: placement JSON, or a PipeDream graph.txt with --input-format pipedream.")
        Path graph;

        @Option(names = "--devices", split = ",", paramLabel = "NAME[=MB][@POWER]",
                description = "Devices to use, e.g. cuda:0,cuda:1,cpu or cuda:0=16000@1.5. Memory comes from the graph file or detection when not given.")
        List<String> devices;

        @Option(names = "--format", defaultValue = "table", description = "table (for people) or json. Default: ${DEFAULT-VALUE}.")
        Format format;

        @Option(names = "--seed", description = "Random seed (same seed, same answer).")
        Long seed;

        @Option(names = "--method", description = "refined (default) or gradient (machin's argmax, for comparison).")
        String method;

        @Option(names = "--option", paramLabel = "KEY=VALUE", description = "A builder option, e.g. maxMemRatio=0.7 (repeatable); overrides the file's options.")
        Map<String, String> options = new LinkedHashMap<>();

        @Option(names = "--input-format", defaultValue = "json", description = "json or pipedream. Default: ${DEFAULT-VALUE}.")
        InputFormat inputFormat;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            GraphSpec g = inputFormat == InputFormat.pipedream ? PipeDreamImporter.read(graph) : GraphJson.read(graph);
            g = g.withDevices(resolveDevices(g, devices));
            Map<String, Object> extra = new LinkedHashMap<>(options);
            if (seed != null) {
                extra.put("seed", seed);
            }
            if (method != null) {
                extra.put("method", PlacementMethod.parse(method).toString());
            }
            for (String key : extra.keySet()) {
                if (!GraphSpec.OPTION_NAMES.contains(key)) {
                    throw new IllegalArgumentException("--option " + key + ": unknown option (expected one of " + GraphSpec.OPTION_NAMES + ")");
                }
            }
            Placement p = place(g.withOptions(extra), graph.getFileName().toString(), spec.commandLine().getErr());
            java.io.PrintWriter out = spec.commandLine().getOut();
            out.print(format == Format.json ? PlacementFormatter.jsonLine(p) + System.lineSeparator() : PlacementFormatter.table(p, 5));
            out.flush();
            return 0;
        }
    }

    @Command(name = "demo", mixinStandardHelpOptions = true,
            description = "Place the bundled real model graphs and compare with their proven optimal cost.")
    static final class Demo implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DIR", description = "Folder with graph JSON files and optima.json.")
        Path dir;

        @Option(names = "--format", defaultValue = "table", description = "table or json. Default: ${DEFAULT-VALUE}.")
        Format format;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            java.io.PrintWriter out = spec.commandLine().getOut();
            List<Path> graphs;
            try (Stream<Path> files = Files.list(dir)) {
                graphs = files.filter(f -> f.toString().endsWith(".json") && !f.getFileName().toString().equals("optima.json"))
                        .sorted().toList();
            }
            if (graphs.isEmpty()) {
                throw new GraphFormatException(dir + ": no graph .json files");
            }
            Map<String, Double> optima = optima(dir.resolve("optima.json"));
            List<Device> detected = Devices.hasGpu() ? Devices.detect() : null;
            boolean gpu = detected != null;
            if (format == Format.table) {
                out.println(gpu ? "Placing on this machine's devices: " + detected
                        : "No GPU here: placing on each graph's own virtual set of 4 GPUs and a CPU (see samples/graphs/README.md).");
            }
            List<String> summary = new ArrayList<>();
            for (Path f : graphs) {
                String name = f.getFileName().toString().replaceFirst("\\.json$", "");
                GraphSpec g = GraphJson.read(f);
                if (gpu) {
                    g = g.withDevices(detected);
                }
                Placement p = place(g, name, spec.commandLine().getErr());
                Double opt = optima.get(name);
                if (format == Format.json) {
                    com.fasterxml.jackson.databind.node.ObjectNode o = PlacementFormatter.json(p);
                    o.put("graph", name);
                    o.put("optimum", opt);
                    out.println(o);
                } else {
                    out.printf(Locale.ROOT, "%n== %s: %d models, %d connections%n", name, g.models().size(), g.connections().size());
                    out.print(PlacementFormatter.table(p, 3));
                }
                summary.add(String.format(Locale.ROOT, "%-14s %8.1f %10s %8s %9s %7.2f", name, p.cost().communication(),
                        opt == null || gpu ? "-" : String.format(Locale.ROOT, "%.1f", opt),
                        opt == null || gpu ? "-" : String.format(Locale.ROOT, "%.3fx", p.cost().communication() / opt),
                        p.feasible() ? "yes" : "NO", p.seconds()));
            }
            if (format == Format.table) {
                out.printf(Locale.ROOT, "%n%-14s %8s %10s %8s %9s %7s%n", "graph", "comm", "optimum", "ratio", "feasible", "seconds");
                summary.forEach(out::println);
            }
            out.flush();
            return 0;
        }

        private static Map<String, Double> optima(Path file) throws IOException {
            Map<String, Double> out = new LinkedHashMap<>();
            if (Files.exists(file)) {
                JsonNode root = new ObjectMapper().readTree(file.toFile());
                root.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().path("optimum").asDouble()));
            }
            return out;
        }
    }

    static Placement place(GraphSpec g, String label, java.io.PrintWriter err) {
        StderrProgress progress = new StderrProgress(err, label);
        try {
            return g.toBuilder().optProgressListener(progress).build().placement();
        } finally {
            progress.finish();
        }
    }

    /** Devices from --devices (with memory from the graph, detection, or NAME=MB), the graph, or detection. */
    static List<Device> resolveDevices(GraphSpec g, List<String> requested) {
        if (requested == null || requested.isEmpty()) {
            return g.devices() != null ? g.devices() : Devices.detect();
        }
        List<Device> known = new ArrayList<>(g.devices() != null ? g.devices() : List.of());
        List<Device> out = new ArrayList<>();
        for (String arg : requested) {
            Device d = parseDevice(arg.trim(), known);
            if (d == null) {
                known.addAll(Devices.detect()); // detect once, only when a name is not in the graph file
                d = parseDevice(arg.trim(), known);
            }
            if (d == null) {
                String name = arg.trim().split("[=@]")[0];
                throw new IllegalArgumentException("--devices: device '" + name + "' is not in the graph file and not on"
                        + " this machine; give its memory as " + name + "=MEGABYTES");
            }
            out.add(d);
        }
        return out;
    }

    private static Device parseDevice(String arg, List<Device> known) {
        String spec = arg;
        Double power = null;
        int at = spec.indexOf('@');
        if (at >= 0) {
            power = number("--devices " + arg + ": power", spec.substring(at + 1));
            spec = spec.substring(0, at);
        }
        String name = spec;
        Double memory = null;
        int eq = spec.indexOf('=');
        if (eq >= 0) {
            name = spec.substring(0, eq);
            memory = number("--devices " + arg + ": memory", spec.substring(eq + 1));
        }
        Device d = memory != null ? Device.of(name, memory) : lookup(name, known);
        return d != null && power != null ? d.withPower(power) : d;
    }

    /** The known device of that name, or null. */
    private static Device lookup(String name, List<Device> known) {
        for (Device d : known) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        return null;
    }

    private static double number(String what, String text) {
        try {
            return Double.parseDouble(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " '" + text + "' is not a number");
        }
    }
}
