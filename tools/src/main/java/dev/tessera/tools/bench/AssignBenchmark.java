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
import java.util.List;
import java.util.Locale;

/**
 * {@code ./tessera bench assign}: placement time on synthetic sparse graphs (n×m = 100×4, 1000×16, 10000×64,
 * about 3n edges) and communication cost over the proven optimum on the bundled real graphs, for the refined
 * and gradient methods. Each synthetic case first runs once on another graph of the same size (the warm-up: JIT,
 * and PyTorch's first use of those tensor shapes), then {@value #RUNS} times on the measured graph; the median is
 * reported, with the warm-up's time as the cold figure. Every run of a case gives the same placement.
 */
public final class AssignBenchmark {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int RUNS = 3;
    private static final List<String> GRAPHS = List.of("alexnet", "squeezenet1_0", "resnet18", "resnet50", "vgg16", "gnmt");

    private AssignBenchmark() {}

    public static void main(String[] args) throws Exception {
        boolean json = args.length >= 2 && args[0].equals("--format") && args[1].equals("json");
        Path graphs = Path.of(System.getProperty("tessera.home", "."), "samples", "graphs");
        if (args.length >= 2 && args[0].equals("--seeds")) {
            acrossSeeds(graphs, Integer.parseInt(args[1]));
            return;
        }
        if (!json) {
            System.out.println("machine: " + Machine.describe());
            System.out.printf(Locale.ROOT, "%-14s %-9s %9s %14s %10s %8s %9s   %s%n", "case", "method", "seconds",
                    "communication", "optimum", "ratio", "feasible", "runs (cold first)");
        }
        for (int[] nm : new int[][] {{100, 4}, {1000, 16}, {10000, 64}}) {
            double cold = place(synthetic(nm[0], nm[1], 7), PlacementMethod.REFINED).seconds();
            double[] runs = new double[RUNS];
            Placement p = null;
            for (int r = 0; r < RUNS; r++) {
                p = place(synthetic(nm[0], nm[1], 42), PlacementMethod.REFINED);
                runs[r] = p.seconds();
            }
            report(json, nm[0] + "x" + nm[1], p, null, runs, cold);
        }
        JsonNode optima = MAPPER.readTree(graphs.resolve("optima.json").toFile());
        for (PlacementMethod method : PlacementMethod.values()) {
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

    private static Placement place(ModelAssigner.Builder b, PlacementMethod method) {
        return b.optMethod(method).optMoveModels(false).build().placement();
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
            if (runs.length > 1) {
                var all = o.putArray("runs");
                for (double r : runs) {
                    all.add(r);
                }
                o.put("coldSeconds", cold);
            }
            o.put("communication", p.cost().communication());
            if (optimum == null) {
                o.putNull("optimum");
            } else {
                o.put("optimum", optimum);
            }
            o.put("feasible", p.feasible());
            System.out.println(o);
        } else {
            StringBuilder detail = new StringBuilder();
            if (runs.length > 1) {
                for (double r : runs) {
                    detail.append(String.format(Locale.ROOT, "%.3f ", r));
                }
                detail.append(String.format(Locale.ROOT, "(%.3f)", cold));
            }
            System.out.printf(Locale.ROOT, "%-14s %-9s %9.3f %14.2f %10s %8s %9s   %s%n", name, p.method(), seconds,
                    p.cost().communication(), optimum == null ? "-" : String.format(Locale.ROOT, "%.2f", optimum),
                    optimum == null ? "-" : String.format(Locale.ROOT, "%.3fx", p.cost().communication() / optimum),
                    p.feasible() ? "yes" : "NO (" + p.violations().size() + ")", detail);
        }
    }

    /** {@link SyntheticGraphs#layers} on a builder. */
    static ModelAssigner.Builder synthetic(int n, int m, long seed) {
        return SyntheticGraphs.layers(n, m, seed).toBuilder();
    }
}
