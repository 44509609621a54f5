package dev.tessera.tools.assign;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.assigner.Placement;
import java.util.List;
import java.util.Locale;

/** Renders a {@link Placement} as a table for people or as one JSON object. Stateless and thread-safe. */
public final class PlacementFormatter {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int BAR = 20;

    private PlacementFormatter() {}

    /**
     * The CLI's JSON document: assignment, devices, cost, method, the gradient phase's report (steps, maxSteps,
     * converged, summary), seconds (plus feasibility and violations).
     */
    public static ObjectNode json(Placement p) {
        ObjectNode root = MAPPER.createObjectNode();
        ObjectNode assignment = root.putObject("assignment");
        p.assignmentByName().forEach(assignment::put);
        ArrayNode devices = root.putArray("devices");
        for (Placement.DeviceLoad l : p.loads()) {
            ObjectNode d = devices.addObject();
            d.put("name", l.device().name());
            d.put("usedMb", l.usedMb());
            d.put("capacityMb", l.capacityMb());
            d.put("complexityShare", l.complexityShare());
            d.put("models", l.models().size());
        }
        ObjectNode cost = root.putObject("cost");
        cost.put("objective", p.cost().objective());
        cost.put("communication", p.cost().communication());
        cost.put("overflowMb", p.cost().overflowMb());
        cost.put("balanceExcess", p.cost().balanceExcess());
        root.put("method", p.method().toString());
        ObjectNode gradient = root.putObject("gradientPhase");
        gradient.put("steps", p.gradientPhase().steps());
        gradient.put("maxSteps", p.gradientPhase().maxSteps());
        gradient.put("converged", p.gradientPhase().converged());
        gradient.put("summary", p.gradientPhase().summary());
        root.put("seconds", p.seconds());
        root.put("feasible", p.feasible());
        ArrayNode violations = root.putArray("violations");
        p.violations().forEach(violations::add);
        return root;
    }

    public static String jsonLine(Placement p) {
        return json(p).toString();
    }

    /** A table: each device's models, memory bar and compute share, then the heaviest crossing connections. */
    public static String table(Placement p, int crossings) {
        StringBuilder sb = new StringBuilder();
        int nameWidth = Math.max(6, p.devices().stream().mapToInt(d -> d.name().length()).max().orElse(6));
        sb.append(String.format(Locale.ROOT, "%-" + nameWidth + "s  %-" + (BAR + 2) + "s %21s  %-16s %s%n", "device",
                "memory", "used / capacity MB", "compute share", "models"));
        for (Placement.DeviceLoad l : p.loads()) {
            sb.append(String.format(Locale.ROOT, "%-" + nameWidth + "s  %s %21s  %5.1f%% (of %4.1f%%) %s%n",
                    l.device().name(), bar(l.usedMb(), l.capacityMb()),
                    String.format(Locale.ROOT, "%.1f / %.1f", l.usedMb(), l.capacityMb()), 100 * l.complexityShare(),
                    100 * l.powerShare(), models(l.models())));
        }
        sb.append(String.format(Locale.ROOT, "%ncommunication %.4g   objective %.6g   method %s   %.2f s%n",
                p.cost().communication(), p.cost().objective(), p.method(), p.seconds()));
        sb.append(String.format(Locale.ROOT, "gradient phase: %s%n", p.gradientPhase().summary()));
        List<Placement.Crossing> heavy = p.crossings();
        if (!heavy.isEmpty()) {
            sb.append(String.format(Locale.ROOT, "heaviest connections across devices:%n"));
            for (Placement.Crossing c : heavy.subList(0, Math.min(crossings, heavy.size()))) {
                sb.append(String.format(Locale.ROOT, "  %s (%s) -> %s (%s): volume %.4g x distance = %.4g%n", c.from(),
                        c.fromDevice(), c.to(), c.toDevice(), c.volume(), c.cost()));
            }
        }
        if (!p.violations().isEmpty()) {
            sb.append(String.format(Locale.ROOT, "CONSTRAINT VIOLATIONS:%n"));
            p.violations().forEach(v -> sb.append("  ").append(v).append(System.lineSeparator()));
        }
        return sb.toString();
    }

    private static String bar(double used, double capacity) {
        int filled = capacity <= 0 ? (used > 0 ? BAR + 1 : 0) : (int) Math.round(BAR * used / capacity);
        StringBuilder sb = new StringBuilder("[");
        for (int k = 0; k < BAR; k++) {
            sb.append(k < filled ? '#' : '.');
        }
        return sb.append(filled > BAR ? '!' : ']').toString();
    }

    private static String models(List<String> names) {
        if (names.size() <= 6) {
            return String.join(", ", names);
        }
        return String.join(", ", names.subList(0, 5)) + ", ... (" + names.size() + " models)";
    }
}
