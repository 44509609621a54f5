package dev.tessera.tools.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.assigner.ModelAssigner;
import dev.tessera.assigner.Placement;
import dev.tessera.assigner.PlacementMethod;
import dev.tessera.tools.assign.GraphJson;
import dev.tessera.tools.assign.GraphSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code ./tessera bench assign [--format json] [--large]} ({@link #HELP}): placement time on synthetic sparse graphs (n×m = 100×4,
 * 1000×16, 10000×64, and with {@code --large} 100000×256 timed once; about 3n edges; {@link SyntheticGraph}), beside
 * METIS and Scotch on the same graphs when they are on the PATH ({@link ExternalMappers}, scored with Tessera's
 * objective and limits), and communication cost over the proven optimum on the bundled real graphs, for the refined
 * and gradient methods. Each synthetic case first runs once on another graph of the same size (the warm-up: JIT,
 * and PyTorch's first use of those tensor shapes), then {@value #RUNS} times on the measured graph; the median is
 * reported, with the warm-up's time as the cold figure. Every run of a case gives the same placement.
 */
public final class AssignBenchmark {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int RUNS = 3;
    private static final List<String> GRAPHS = List.of("alexnet", "squeezenet1_0", "resnet18", "resnet50", "vgg16", "gnmt");

    private AssignBenchmark() {}

    static final String HELP = """
            Usage: ./tessera bench assign [--format table|json] [--large]
                   ./tessera bench assign --seeds N

            Placement time and quality of the refined method:
              synthetic graphs  100x4, 1000x16 and 10000x64 models x devices (about 3n edges), with --large also
                                100000x256 (timed once): a warm-up run on another graph of the size (the cold figure),
                                then 3 timed runs (the median); METIS and Scotch on the same graphs when gpmetis and
                                scotch_gmap are on the PATH, scored with Tessera's objective and memory limits
              real graphs       the six bundled graphs (samples/graphs), by the refined and gradient methods:
                                communication cost over the proven optimum
            With --seeds N instead: each real graph placed at seeds 0..N-1, one text line per graph with every ratio
            to the optimum, the worst, and the mean time.

            Options:
              --format table|json  a table (default), or one JSON object per line
              --large              add the 100000x256 graph (placed once after its warm-up; minutes)
              --seeds N            seed sensitivity instead of the tables above (text only)

            JSON line, one per case and method ("runs" and "coldSeconds" only on the synthetic graphs; "optimum" is
            null where none is known):
              {"bench":"assign","case":"1000x16","method":"refined","seconds":0.41,"runs":[0.41,0.55,0.37],
               "coldSeconds":0.47,"communication":26333.0,"objective":0.0369,"optimum":null,"feasible":true}
            """;

    public static void main(String[] args) throws Exception {
        BenchMain.main("assign", args);
    }

    /** {@code bench assign ARGS}, checked. */
    static BenchMain.BenchRun parse(String[] args) {
        boolean json = false;
        boolean large = false;
        int seeds = 0;
        boolean format = false;
        BenchArgs a = new BenchArgs(args, "--format table|json, --large or --seeds N");
        while (a.hasNext()) {
            String arg = a.next();
            switch (arg) {
                case "--format" -> {
                    json = a.json();
                    format = true;
                }
                case "--large" -> large = true;
                case "--seeds" -> seeds = a.intAtLeast("--seeds", 1);
                default -> throw a.unknown(arg);
            }
        }
        if (seeds > 0 && (format || large)) {
            throw new BenchUsageException("--seeds with " + (format ? "--format" : "--large") + " (--seeds prints its "
                    + "own text lines and places only the real graphs: give it alone)");
        }
        Path graphs = Path.of(System.getProperty("tessera.home", "."), "samples", "graphs");
        if (seeds > 0) {
            int n = seeds;
            return () -> acrossSeeds(graphs, n);
        }
        boolean j = json;
        boolean l = large;
        return () -> run(graphs, j, l);
    }

    private static void run(Path graphs, boolean json, boolean large) throws Exception {
        if (!json) {
            System.out.println("machine: " + Machine.describe());
            System.out.printf(Locale.ROOT, "%-14s %-10s %9s %14s %10s %8s %9s %9s   %s%n", "case", "method", "seconds",
                    "communication", "optimum", "ratio", "objective", "feasible", "runs (cold first)");
        }
        List<int[]> cases = new ArrayList<>(List.of(new int[] {100, 4}, new int[] {1000, 16}, new int[] {10000, 64}));
        if (large) {
            cases.add(new int[] {100_000, 256});
        }
        for (int[] nm : cases) {
            syntheticCase(json, nm[0], nm[1], nm[0] < 100_000 ? RUNS : 1);
        }
        JsonNode optima = MAPPER.readTree(graphs.resolve("optima.json").toFile());
        for (PlacementMethod method : PlacementMethod.values()) {
            BenchProgress.step("assign", "the real graphs by the " + method + " method");
            for (String name : GRAPHS) {
                Path file = graphs.resolve(name + ".json");
                if (!Files.exists(file)) {
                    continue;
                }
                GraphSpec spec = GraphJson.read(file);
                Placement p = place(spec.toBuilder(), method);
                report(json, name, p, optima.path(name).path("optimum").asDouble(), new double[] {p.seconds()}, null);
            }
        }
    }

    /**
     * {@code --seeds N}: each bundled graph placed at seeds 0..N-1 (refined), one line per graph with every ratio
     * to the proven optimum, the worst, and the mean time, so seed sensitivity is measured rather than guessed.
     */
    private static void acrossSeeds(Path graphs, int seeds) throws Exception {
        JsonNode optima = MAPPER.readTree(graphs.resolve("optima.json").toFile());
        System.out.println("machine: " + Machine.describe());
        for (String name : GRAPHS) {
            BenchProgress.step("assign", name + " at seeds 0.." + (seeds - 1));
            GraphSpec spec = GraphJson.read(graphs.resolve(name + ".json"));
            double optimum = optima.path(name).path("optimum").asDouble();
            StringBuilder ratios = new StringBuilder();
            double worst = 0;
            double seconds = 0;
            boolean feasible = true;
            for (int seed = 0; seed < seeds; seed++) {
                Placement p = place(spec.toBuilder().optSeed(seed), PlacementMethod.REFINED);
                double ratio = p.cost().communication() / optimum;
                ratios.append(String.format(Locale.ROOT, "%.3f ", ratio));
                worst = Math.max(worst, ratio);
                seconds += p.seconds();
                feasible &= p.feasible();
            }
            System.out.printf(Locale.ROOT, "%-14s worst %.3fx  mean %.2f s  %s  seeds 0-%d: %s%n", name, worst,
                    seconds / seeds, feasible ? "all feasible" : "SOME INFEASIBLE", seeds - 1, ratios.toString().trim());
        }
    }

    /**
     * One synthetic case: a warm-up on another graph of the size, then {@code runs} timed runs, then METIS and Scotch
     * on the measured graph when they are on the PATH, their answers scored with Tessera's objective and limits.
     */
    private static void syntheticCase(boolean json, int n, int m, int runs) {
        String name = n + "x" + m;
        BenchProgress.step("assign", name + ": the warm-up run (on another graph of the size)");
        double cold = place(SyntheticGraph.of(n, m, 7).builder(), PlacementMethod.REFINED).seconds();
        SyntheticGraph g = SyntheticGraph.of(n, m, 42);
        double[] times = new double[runs];
        Placement p = null;
        for (int r = 0; r < runs; r++) {
            BenchProgress.step("assign", name + ": timed run " + (r + 1) + " of " + runs);
            p = place(g.builder(), PlacementMethod.REFINED);
            times[r] = p.seconds();
        }
        SyntheticGraph.Score own = g.score(p.deviceIndices());
        if (Math.abs(own.objective() - p.cost().objective()) > 1e-9 * Math.max(1, Math.abs(own.objective()))) {
            throw new IllegalStateException("the benchmark's scorer gives objective " + own.objective() + " where the"
                    + " assigner reports " + p.cost().objective() + " for " + name + "; fix SyntheticGraph.score");
        }
        report(json, name, p, null, times, cold);
        BenchProgress.step("assign", name + ": METIS and Scotch, if they are on the PATH");
        for (ExternalMappers.Answer answer : externalAnswers(g)) {
            SyntheticGraph.Score s = g.score(answer.placement());
            reportExternal(json, name, answer, s);
        }
    }

    private static List<ExternalMappers.Answer> externalAnswers(SyntheticGraph g) {
        List<ExternalMappers.Answer> answers = new ArrayList<>();
        ExternalMappers.Answer metis = ExternalMappers.metis(g);
        if (metis != null) {
            answers.add(metis);
        }
        ExternalMappers.Answer scotch = ExternalMappers.scotch(g);
        if (scotch != null) {
            answers.add(scotch);
        }
        return answers;
    }

    /** One line for another mapper's answer, scored by Tessera. */
    private static void reportExternal(boolean json, String name, ExternalMappers.Answer a, SyntheticGraph.Score s) {
        if (json) {
            ObjectNode o = MAPPER.createObjectNode();
            o.put("bench", "assign");
            o.put("case", name);
            o.put("method", a.name());
            o.put("seconds", a.seconds());
            o.put("communication", s.communication());
            o.put("objective", s.objective());
            o.putNull("optimum");
            o.put("feasible", s.feasible());
            System.out.println(o);
        } else {
            System.out.printf(Locale.ROOT, "%-14s %-10s %9.3f %14.2f %10s %8s %9.5f %9s%n", name, a.name(),
                    a.seconds(), s.communication(), "-", "-", s.objective(), s.feasible() ? "yes" : "NO");
        }
    }

    private static Placement place(ModelAssigner.Builder b, PlacementMethod method) {
        return b.optMethod(method).build().placement();
    }

    /** One line: the median of {@code runs} as the time; {@code cold} is the warm-up's time, or null. */
    private static void report(boolean json, String name, Placement p, Double optimum, double[] runs, Double cold) {
        double[] sorted = runs.clone();
        java.util.Arrays.sort(sorted);
        double seconds = sorted[sorted.length / 2];
        if (json) {
            ObjectNode o = MAPPER.createObjectNode();
            o.put("bench", "assign");
            o.put("case", name);
            o.put("method", p.method().toString());
            o.put("seconds", seconds);
            if (cold != null) {
                var all = o.putArray("runs");
                for (double r : runs) {
                    all.add(r);
                }
                o.put("coldSeconds", cold);
            }
            o.put("communication", p.cost().communication());
            o.put("objective", p.cost().objective());
            if (optimum == null) {
                o.putNull("optimum");
            } else {
                o.put("optimum", optimum);
            }
            o.put("feasible", p.feasible());
            System.out.println(o);
        } else {
            StringBuilder detail = new StringBuilder();
            if (cold != null) {
                for (double r : runs) {
                    detail.append(String.format(Locale.ROOT, "%.3f ", r));
                }
                detail.append(String.format(Locale.ROOT, "(%.3f)", cold));
            }
            System.out.printf(Locale.ROOT, "%-14s %-10s %9.3f %14.2f %10s %8s %9.5f %9s   %s%n", name, p.method(),
                    seconds, p.cost().communication(),
                    optimum == null ? "-" : String.format(Locale.ROOT, "%.2f", optimum),
                    optimum == null ? "-" : String.format(Locale.ROOT, "%.3fx", p.cost().communication() / optimum),
                    p.cost().objective(), p.feasible() ? "yes" : "NO (" + p.violations().size() + ")", detail);
        }
    }

    /** The benchmark's synthetic graph ({@link SyntheticGraph}) as a builder. */
    static ModelAssigner.Builder synthetic(int n, int m, long seed) {
        return SyntheticGraph.of(n, m, seed).builder();
    }
}
