package dev.tessera.tools.assign;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tessera.assigner.DeviceSpec;
import dev.tessera.assigner.Devices;
import dev.tessera.assigner.ModelAssigner;
import dev.tessera.assigner.Placement;
import dev.tessera.assigner.PlacementInfeasibleException;
import dev.tessera.assigner.PlacementMethod;
import dev.tessera.tools.internal.CliMessages;
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
 * The placement CLI ({@code ./tessera assign} and {@code ./tessera demo}). Not thread-safe (one instance per
 * run); holds no resources after {@link #run} returns. Exit codes: 0 success, 1 internal error, 2 bad input (a
 * one-line message that names the file and the field, line, option or limit), 3 infeasible. No stack trace is
 * printed unless {@code --debug} is given, and no log line (DJL's or Tessera's, through slf4j-simple) unless
 * {@code --verbose} is given or the user set {@code org.slf4j.simpleLogger.defaultLogLevel}: the defaults are in
 * this jar's {@code simplelogger.properties}.
 */
@Command(
        name = "tessera",
        mixinStandardHelpOptions = true,
        subcommands = {AssignCli.Assign.class, AssignCli.Demo.class},
        description = "Places models (or the layers of one model) on GPUs and the CPU.")
public final class AssignCli implements Runnable {
    public static final int EXIT_INTERNAL_ERROR = 1;
    public static final int EXIT_BAD_INPUT = 2;
    public static final int EXIT_INFEASIBLE = 3;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** slf4j-simple's level property; a system property set by the user wins over the jar's file. */
    static final String LOG_LEVEL = "org.slf4j.simpleLogger.defaultLogLevel";

    public static void main(String[] args) {
        if (java.util.Arrays.asList(args).contains("--verbose")) {
            verboseLogging();
        }
        System.exit(run(System.out, System.err, args));
    }

    /** Graph files larger than this start DJL's engine loading before the CLI parses its arguments. */
    static final long PRELOAD_BYTES = 4096;

    /**
     * Whether {@link #run} should start loading DJL's engine before picocli and the rest of the CLI load their
     * classes (about 0.4 s of a cold start): when an argument of {@code assign} names a graph file large enough to
     * need the gradient phase (a cold 1000×16 run waited for libtorch otherwise). An option's value that happens to
     * name such a file only loads the engine for nothing, on a daemon thread; {@code --help} and {@code --version}
     * load nothing.
     */
    static boolean needsEngineEarly(String... args) {
        if (args.length < 2 || !args[0].equals("assign")) {
            return false;
        }
        List<String> rest = java.util.Arrays.asList(args).subList(1, args.length);
        if (rest.contains("--help") || rest.contains("-h") || rest.contains("--version") || rest.contains("-V")) {
            return false;
        }
        return rest.stream().anyMatch(a -> !a.startsWith("-") && largeGraphFile(a));
    }

    /**
     * Whether {@code path} names a regular file over {@value #PRELOAD_BYTES} bytes: a graph that large has more
     * models than a run enumerates without DJL (devices^models up to 1,000,000, about a dozen models), so its
     * gradient phase will need the engine. A path that cannot be read is not one (the read that follows reports it).
     */
    static boolean largeGraphFile(String path) {
        try {
            Path p = Path.of(path);
            return Files.isRegularFile(p) && Files.size(p) > PRELOAD_BYTES;
        } catch (IOException | java.nio.file.InvalidPathException e) {
            return false;
        }
    }

    /**
     * Raises the log level to INFO unless the user chose one. Must run before the first logger exists (slf4j-simple
     * reads its settings once); the CUDA probe's warning stays hidden, as it is on every machine without a driver.
     */
    static void verboseLogging() {
        if (System.getProperty(LOG_LEVEL) == null) {
            System.setProperty(LOG_LEVEL, "info");
        }
    }

    /** Runs the CLI with the given streams and returns the exit code (for tests and embedding). */
    public static int run(PrintStream out, PrintStream err, String... args) {
        if (needsEngineEarly(args)) {
            NativeLinks.linkBeforeEngineLoad(AssignCli.class);
            ModelAssigner.preloadEngine();
        }
        CommandLine cli = new CommandLine(new AssignCli());
        cli.setOut(new java.io.PrintWriter(out, true));
        cli.setErr(new java.io.PrintWriter(err, true));
        cli.setParameterExceptionHandler((ex, ignored) -> badArguments(ex));
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> report(err, ex, debug(cmd)));
        try {
            return cli.execute(args);
        } catch (RuntimeException | Error e) { // what picocli lets through: Errors (out of memory) and handler failures
            boolean debug = cli.getSubcommands().values().stream().anyMatch(AssignCli::debug);
            return report(err, e, debug);
        }
    }

    /** Without a sub-command: a usage error. */
    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command (expected assign or demo)");
    }

    /** A sub-command that has the {@code --debug} flag. */
    private interface Debuggable {
        boolean debug();
    }

    /** The {@code --debug} and {@code --verbose} flags, mixed into each sub-command. */
    static final class DebugOption {
        @Option(names = "--debug", description = "On an error, also print the Java stack trace.")
        boolean debug;

        /** Read by {@link #main} before parsing, since logging must be set up before anything logs. */
        @Option(names = "--verbose", description = "Show DJL's and Tessera's log lines (INFO and up) on stderr.")
        boolean verbose;
    }

    private static boolean debug(CommandLine cmd) {
        return cmd.getCommand() instanceof Debuggable d && d.debug();
    }

    /** Prints one line for {@code ex} (and its stack trace with --debug) and returns the exit code. */
    private static int report(PrintStream err, Throwable ex, boolean debug) {
        int code;
        String line;
        if (ex instanceof GraphFormatException || ex instanceof IllegalArgumentException) {
            code = EXIT_BAD_INPUT;
            line = "bad input: " + ex.getMessage();
        } else if (ex instanceof java.io.IOException || ex instanceof java.io.UncheckedIOException) {
            code = EXIT_BAD_INPUT;
            line = "cannot read input: " + ex.getMessage();
        } else if (ex instanceof PlacementInfeasibleException) {
            code = EXIT_INFEASIBLE;
            line = "infeasible: " + ex.getMessage();
        } else {
            code = EXIT_INTERNAL_ERROR;
            line = (ex instanceof OutOfMemoryError ? "" : "internal error: ")
                    + CliMessages.failure(ex, ex.getMessage(), debug);
        }
        err.println("tessera: " + CliMessages.oneLine(line));
        if (debug) {
            ex.printStackTrace(err);
        }
        err.flush();
        return code;
    }

    /** picocli's own errors (unknown option, missing GRAPH, bad --format of demo): one line, exit 2. */
    private static int badArguments(CommandLine.ParameterException ex) {
        CommandLine cmd = ex.getCommandLine();
        String file = cmd.getCommand() instanceof Assign a && a.graph != null ? a.graph + ": " : "";
        java.io.PrintWriter err = cmd.getErr();
        err.println("tessera: bad input: " + file + CliMessages.oneLine(ex.getMessage()) + " (see " + cmd.getCommandSpec().qualifiedName() + " --help)");
        if (debug(cmd)) {
            ex.printStackTrace(err);
        }
        err.flush();
        return EXIT_BAD_INPUT;
    }

    enum Format {
        table,
        json
    }

    enum AssignFormat {
        table,
        json,
        svg,
        html
    }

    enum InputFormat {
        json,
        pipedream
    }

    @Command(name = "assign", mixinStandardHelpOptions = true,
            description = "Place the models of GRAPH on devices and print where each goes.")
    static final class Assign implements Callable<Integer>, Debuggable {
        @Parameters(index = "0", paramLabel = "GRAPH", description = "Graph file: placement JSON, or a PipeDream graph.txt with --input-format pipedream.")
        Path graph;

        @Option(names = "--devices", split = ",", paramLabel = "NAME[=MB][@POWER]",
                description = "Devices to use, e.g. cuda:0,cuda:1,cpu or cuda:0=16000@1.5. Memory comes from the graph file or detection when not given.")
        List<String> devices;

        @Option(names = "--format", defaultValue = "table", description = "table (for people), json, svg (a picture)"
                + " or html (a page with the picture, no outside references). Default: ${DEFAULT-VALUE}.")
        String format;

        @Option(names = "--seed", description = "Random seed, an integer (same seed, same answer).")
        String seed;

        @Option(names = "--method", description = "refined (default) or gradient (machin's argmax, for comparison).")
        String method;

        @Option(names = "--option", paramLabel = "KEY=VALUE", description = "A builder option, e.g. maxMemRatio=0.7 (repeatable); overrides the file's options.")
        Map<String, String> options = new LinkedHashMap<>();

        @Option(names = "--input-format", defaultValue = "json", description = "json or pipedream. Default: ${DEFAULT-VALUE}.")
        String inputFormat;

        @CommandLine.Mixin
        DebugOption debugOption;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public boolean debug() {
            return debugOption.debug;
        }

        /** Every option and argument error is an IllegalArgumentException; it is reported once, naming the file. */
        @Override
        public Integer call() {
            try {
                return placeAndPrint();
            } catch (IllegalArgumentException e) {
                throw new GraphFormatException(graph + ": " + e.getMessage(), e);
            }
        }

        private int placeAndPrint() {
            InputFormat in = choice("--input-format", inputFormat, InputFormat.values());
            AssignFormat out = choice("--format", format, AssignFormat.values());
            Map<String, Object> extra = commandLineOptions();
            GraphSpec g = in == InputFormat.pipedream ? PipeDreamImporter.read(graph) : GraphJson.read(graph);
            g = g.withDevices(resolveDevices(g, devices));
            String name = graph.getFileName().toString();
            Placement p = place(g.withOptions(extra), name, spec.commandLine().getErr());
            java.io.PrintWriter w = spec.commandLine().getOut();
            w.print(switch (out) {
                case table -> PlacementFormatter.table(p, 5);
                case json -> PlacementFormatter.jsonLine(p) + System.lineSeparator();
                case svg -> PlacementPicture.svg(g, p, name);
                case html -> PlacementPicture.html(g, p, name);
            });
            w.flush();
            return 0;
        }

        /** --option, --seed and --method as builder options, each checked; errors name the option. */
        private Map<String, Object> commandLineOptions() {
            Map<String, Object> extra = new LinkedHashMap<>();
            options.forEach((k, v) -> extra.put(k, checkedOption("--option " + k + "=" + v, k, v)));
            if (seed != null) {
                extra.put("seed", checkedOption("--seed " + seed, "seed", seed));
            }
            if (method != null) {
                extra.put("method", checkedOption("--method " + method, "method", method));
            }
            return extra;
        }

        private static Object checkedOption(String given, String name, String value) {
            try {
                GraphSpec.checkOption(name, value);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(given + ": " + e.getMessage(), e);
            }
            return value;
        }

        private static <E extends Enum<E>> E choice(String option, String value, E[] values) {
            for (E e : values) {
                if (e.name().equalsIgnoreCase(value.trim())) {
                    return e;
                }
            }
            throw new IllegalArgumentException(option + " " + value + ": expected one of " + java.util.Arrays.toString(values));
        }
    }

    @Command(name = "demo", mixinStandardHelpOptions = true,
            description = "Place the bundled real model graphs and compare with their proven optimal cost.")
    static final class Demo implements Callable<Integer>, Debuggable {
        @Parameters(index = "0", paramLabel = "DIR", description = "Folder with graph JSON files and optima.json.")
        Path dir;

        @Option(names = "--format", defaultValue = "table", description = "table or json. Default: ${DEFAULT-VALUE}.")
        Format format;

        @Option(names = "--pictures", paramLabel = "DIR", description = "Folder for one HTML picture per graph"
                + " (NAME.html, replaced if there). Default: tessera-demo in the temporary folder.")
        Path pictures = Path.of(System.getProperty("java.io.tmpdir"), "tessera-demo");

        @CommandLine.Mixin
        DebugOption debugOption;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public boolean debug() {
            return debugOption.debug;
        }

        @Override
        public Integer call() {
            java.io.PrintWriter out = spec.commandLine().getOut();
            List<Path> graphs = graphFiles(dir);
            Map<String, Double> optima = optima(dir.resolve("optima.json"));
            List<DeviceSpec> detected = Devices.hasGpu() ? Devices.detect() : null;
            boolean gpu = detected != null;
            if (format == Format.table) {
                out.println(gpu ? "Placing on this machine's devices: " + detected
                        : "No GPU here: placing on each graph's own virtual set of 4 GPUs and a CPU (see samples/graphs/README.md).");
            }
            List<String> summary = new ArrayList<>();
            createPictureFolder();
            for (Path f : graphs) {
                String name = f.getFileName().toString().replaceFirst("\\.json$", "");
                GraphSpec g = GraphJson.read(f);
                if (gpu) {
                    g = g.withDevices(detected);
                }
                Placement p;
                try {
                    p = place(g, name, spec.commandLine().getErr());
                } catch (IllegalArgumentException e) {
                    throw new GraphFormatException(f + ": " + e.getMessage(), e);
                }
                Double opt = gpu ? null : optima.get(name); // the optimum is for the graph's own devices
                Path picture = writePicture(name, g, p);
                // the whole block at once, after the placement's progress lines on stderr, so that the two streams
                // read in order when they go to one terminal or pipe
                out.print(block(name, g, p, opt, picture));
                out.flush();
                summary.add(summaryRow(name, p, opt));
            }
            if (format == Format.table) {
                out.printf(Locale.ROOT, "%n%-14s %8s %10s %8s %9s %7s%n", "graph", "comm", "optimum", "ratio", "feasible", "seconds");
                summary.forEach(out::println);
                out.printf(Locale.ROOT, "%nPictures of the placements (open in a browser): %s%n",
                        pictures.toAbsolutePath().resolve("*.html"));
            }
            out.flush();
            return 0;
        }

        /** One graph's output: its JSON line, or its header line, table and cost line. */
        private String block(String name, GraphSpec g, Placement p, Double optimum, Path picture) {
            if (format == Format.json) {
                com.fasterxml.jackson.databind.node.ObjectNode o = PlacementFormatter.json(p);
                o.put("graph", name);
                o.put("optimum", optimum);
                o.put("picture", picture.toAbsolutePath().toString());
                return o + System.lineSeparator();
            }
            return String.format(Locale.ROOT, "%n== %s: %d models, %d connections%n", name, g.models().size(),
                    g.connections().size()) + PlacementFormatter.table(p, 3);
        }

        private void createPictureFolder() {
            try {
                Files.createDirectories(pictures);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("--pictures " + pictures + ": cannot create the folder ("
                        + e + "); give another folder with --pictures DIR", e);
            }
        }

        private Path writePicture(String name, GraphSpec g, Placement p) {
            Path file = pictures.resolve(name + ".html");
            try {
                Files.writeString(file, PlacementPicture.html(g, p, name));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("--pictures " + pictures + ": cannot write " + file + " (" + e
                        + "); give another folder with --pictures DIR", e);
            }
            return file;
        }

        private static String summaryRow(String name, Placement p, Double optimum) {
            return String.format(Locale.ROOT, "%-14s %8.1f %10s %8s %9s %7.2f", name, p.cost().communication(),
                    optimum == null ? "-" : String.format(Locale.ROOT, "%.1f", optimum),
                    optimum == null ? "-" : String.format(Locale.ROOT, "%.3fx", p.cost().communication() / optimum),
                    p.feasible() ? "yes" : "NO", p.seconds());
        }

        private static List<Path> graphFiles(Path dir) {
            if (!Files.isDirectory(dir)) {
                throw new GraphFormatException(dir + (Files.exists(dir) ? ": not a directory" : ": no such directory"));
            }
            List<Path> graphs;
            try (Stream<Path> files = Files.list(dir)) {
                graphs = files.filter(f -> f.toString().endsWith(".json") && !f.getFileName().toString().equals("optima.json"))
                        .sorted().toList();
            } catch (IOException e) {
                throw new GraphFormatException(dir + ": cannot list: " + e.getMessage(), e);
            }
            if (graphs.isEmpty()) {
                throw new GraphFormatException(dir + ": no graph .json files");
            }
            return graphs;
        }

        private static Map<String, Double> optima(Path file) {
            Map<String, Double> out = new LinkedHashMap<>();
            if (Files.exists(file)) {
                JsonNode root = InputFiles.readTree(file.toString(), InputFiles.readText(file));
                if (root == null || !root.isObject()) {
                    throw new GraphFormatException(file + ": expected a JSON object of graph name to {\"optimum\": number}");
                }
                root.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().path("optimum").asDouble()));
            }
            return out;
        }
    }

    /**
     * Places {@code g}, reporting progress under {@code label}. A builder argument error is an
     * {@link IllegalArgumentException}, which the caller reports naming the file.
     */
    static Placement place(GraphSpec g, String label, java.io.PrintWriter err) {
        StderrProgress progress = new StderrProgress(err, label);
        try {
            return g.toBuilder().optProgressListener(progress).build().placement();
        } finally {
            progress.finish();
        }
    }

    /**
     * Devices from --devices (with memory from the graph, detection, or NAME=MB), the graph, or detection. Errors
     * are {@link IllegalArgumentException}s that start with {@code --devices ARG:}.
     */
    static List<DeviceSpec> resolveDevices(GraphSpec g, List<String> requested) {
        if (requested == null || requested.isEmpty()) {
            return g.devices() != null ? g.devices() : Devices.detect();
        }
        List<DeviceSpec> known = new ArrayList<>(g.devices() != null ? g.devices() : List.of());
        List<DeviceSpec> out = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (String raw : requested) {
            String arg = raw.trim();
            DeviceSpec d = parseDevice(arg, known);
            if (d == null) {
                known.addAll(Devices.detect()); // detect once, only when a name is not in the graph file
                d = parseDevice(arg, known);
            }
            if (d == null) {
                String name = arg.split("[=@]")[0];
                throw new IllegalArgumentException("--devices " + arg + ": device '" + name + "' is not in the graph file"
                        + " and not on this machine; give its memory as " + name + "=MEGABYTES");
            }
            if (!seen.add(d.name())) {
                throw new IllegalArgumentException("--devices " + arg + ": device '" + d.name() + "' is given twice");
            }
            out.add(d);
        }
        return out;
    }

    private static DeviceSpec parseDevice(String arg, List<DeviceSpec> known) {
        try {
            String spec = arg;
            Double power = null;
            int at = spec.indexOf('@');
            if (at >= 0) {
                power = number("power", spec.substring(at + 1));
                spec = spec.substring(0, at);
            }
            String name = spec;
            Double memory = null;
            int eq = spec.indexOf('=');
            if (eq >= 0) {
                name = spec.substring(0, eq);
                memory = number("memory", spec.substring(eq + 1));
            }
            if (name.isBlank()) {
                throw new IllegalArgumentException("empty device name (expected NAME[=MB][@POWER], e.g. cuda:0=16000)");
            }
            DeviceSpec d = memory != null ? DeviceSpec.of(name, memory) : lookup(name, known);
            return d != null && power != null ? d.withPower(power) : d;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--devices " + (arg.isEmpty() ? "''" : arg) + ": " + e.getMessage(), e);
        }
    }

    /** The known device of that name, or null. */
    private static DeviceSpec lookup(String name, List<DeviceSpec> known) {
        for (DeviceSpec d : known) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        return null;
    }

    private static double number(String what, String text) {
        double v;
        try {
            v = Double.parseDouble(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " '" + text + "' is not a number");
        }
        if (!InputFiles.inRange(v)) {
            throw new IllegalArgumentException(what + " " + text.trim() + " (expected " + InputFiles.RANGE + ")");
        }
        return v;
    }
}
