package dev.tessera.tools.assign;

import dev.tessera.assigner.Placement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Draws a placement as an SVG picture or as a self-contained HTML page around it. Stateless and thread-safe; every
 * call returns a new string that the caller owns.
 *
 * <p>The picture has one column per device, in the placement's device order. Each column's head shows the device
 * name, a memory bar (used over capacity, red past it) and a compute-share bar (the device's share of the total
 * complexity, with a tick at its share of the power). Under it sit the device's models as boxes, in topological
 * order of the graph (Kahn's algorithm, ties and cycles in file order), so a pipeline reads top to bottom.
 * Connections that cross devices are curves from box to box, their width proportional to the volume (the heaviest
 * {@value #MAX_DRAWN} at most; a caption counts the rest), and the {@value #LABELLED} heaviest by cost carry their
 * volume as a label. Elements carry {@code class} and {@code data-*} attributes (device, model, cut) for tools
 * and tests.
 */
public final class PlacementPicture {
    static final int MAX_DRAWN = 2_000;
    static final int LABELLED = 3;
    private static final int MARGIN = 20;
    private static final int COLUMN = 170;
    private static final int GAP = 70;
    private static final int HEAD = 112;
    private static final int BOX = 20;
    private static final int BOX_GAP = 4;
    private static final double MAX_STROKE = 8;
    private static final String[] COLOURS = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948",
        "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

    private PlacementPicture() {}

    /** A standalone SVG document (with an XML declaration) drawing {@code p}, a placement of graph {@code g}. */
    public static String svg(GraphSpec g, Placement p, String title) {
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + new Drawing(g, p, title).svg();
    }

    /** An HTML page with no outside references: a heading, the cost line and the SVG picture inline. */
    public static String html(GraphSpec g, Placement p, String title) {
        String t = escape(title);
        return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Tessera placement: " + t
                + "</title>\n<style>\nbody { font-family: sans-serif; margin: 16px; color: #222; }\n"
                + "h1 { font-size: 20px; margin: 0 0 4px; }\np { margin: 0 0 12px; font-size: 13px; }\n"
                + ".picture { overflow: auto; border: 1px solid #ddd; }\n</style>\n</head>\n<body>\n<h1>" + t
                + "</h1>\n<p>" + escape(costLine(p)) + "</p>\n<div class=\"picture\">\n" + new Drawing(g, p, title).svg()
                + "</div>\n</body>\n</html>\n";
    }

    static String costLine(Placement p) {
        return String.format(Locale.ROOT, "%d models on %d devices; communication %.4g, objective %.6g, method %s,"
                        + " %.2f s%s", p.models().size(), p.devices().size(), p.cost().communication(),
                p.cost().objective(), p.method(), p.seconds(), p.feasible() ? "" : "; CONSTRAINTS VIOLATED");
    }

    /** The models' names in topological order of {@code g}'s connections; ties and cycles keep file order. */
    static List<String> topologicalOrder(GraphSpec g) {
        Map<String, Integer> index = new HashMap<>();
        for (GraphSpec.Model m : g.models()) {
            index.put(m.name(), index.size());
        }
        int n = index.size();
        int[] indegree = new int[n];
        List<List<Integer>> next = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            next.add(new ArrayList<>());
        }
        for (GraphSpec.Connection c : g.connections()) {
            next.get(index.get(c.from())).add(index.get(c.to()));
            indegree[index.get(c.to())]++;
        }
        PriorityQueue<Integer> ready = new PriorityQueue<>();
        for (int i = 0; i < n; i++) {
            if (indegree[i] == 0) {
                ready.add(i);
            }
        }
        boolean[] done = new boolean[n];
        List<String> out = new ArrayList<>();
        while (out.size() < n) {
            if (ready.isEmpty()) { // a cycle: take its first model in file order
                for (int i = 0; i < n; i++) {
                    if (!done[i]) {
                        ready.add(i);
                        break;
                    }
                }
            }
            int i = ready.poll();
            if (done[i]) {
                continue;
            }
            done[i] = true;
            out.add(g.models().get(i).name());
            for (int j : next.get(i)) {
                if (--indegree[j] == 0 && !done[j]) {
                    ready.add(j);
                }
            }
        }
        return out;
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c < 0x20 && c != '\t' ? ' ' : c);
            }
        }
        return sb.toString();
    }

    /** One drawing: where each model's box sits, then the SVG text. */
    private static final class Drawing {
        private final Placement p;
        private final String title;
        private final Map<String, int[]> box = new HashMap<>(); // model -> {column, row}
        private final int rows;

        Drawing(GraphSpec g, Placement p, String title) {
            this.p = p;
            this.title = title;
            Map<String, Integer> column = new HashMap<>();
            for (int d = 0; d < p.devices().size(); d++) {
                column.put(p.devices().get(d).name(), d);
            }
            int[] used = new int[p.devices().size()];
            Map<String, String> where = p.assignmentByName();
            for (String model : topologicalOrder(g)) {
                int d = column.get(where.get(model));
                box.put(model, new int[] {d, used[d]++});
            }
            int most = 0;
            for (int u : used) {
                most = Math.max(most, u);
            }
            rows = most;
        }

        String svg() {
            int width = 2 * MARGIN + p.devices().size() * COLUMN + (p.devices().size() - 1) * GAP;
            int height = HEAD + rows * (BOX + BOX_GAP) + 2 * MARGIN + 16;
            StringBuilder sb = new StringBuilder();
            sb.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                    + " viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">%n", width, height, width, height));
            sb.append("<title>").append(escape(title)).append("</title>\n");
            sb.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>%n", width, height));
            for (int d = 0; d < p.loads().size(); d++) {
                device(sb, d, p.loads().get(d));
            }
            int drawn = connections(sb);
            String caption = costLine(p) + (drawn < p.crossings().size()
                    ? String.format(Locale.ROOT, "; the %d lightest of %d connections across devices not drawn",
                            p.crossings().size() - drawn, p.crossings().size()) : "");
            sb.append(String.format(Locale.ROOT, "<text class=\"caption\" x=\"%d\" y=\"%d\" fill=\"#444\">%s</text>%n",
                    MARGIN, height - MARGIN + 4, escape(caption)));
            return sb.append("</svg>\n").toString();
        }

        private static int x(int column) {
            return MARGIN + column * (COLUMN + GAP);
        }

        private static int y(int row) {
            return MARGIN + HEAD + row * (BOX + BOX_GAP);
        }

        private void device(StringBuilder sb, int d, Placement.DeviceLoad l) {
            String name = escape(l.device().name());
            String colour = COLOURS[d % COLOURS.length];
            int x = x(d);
            double memory = l.capacityMb() > 0 ? l.usedMb() / l.capacityMb() : (l.usedMb() > 0 ? 2 : 0);
            sb.append(String.format(Locale.ROOT, "<g class=\"device\" data-device=\"%s\">%n", name));
            sb.append(String.format(Locale.ROOT, "<text class=\"device-name\" x=\"%d\" y=\"%d\" font-size=\"14\""
                    + " font-weight=\"bold\" fill=\"%s\">%s</text>%n", x, MARGIN + 14, colour, name));
            bar(sb, "memory", x, MARGIN + 24, memory, Double.NaN, memory > 1 + 1e-9 ? "#d62728" : colour,
                    String.format(Locale.ROOT, "memory %.1f / %.1f MB", l.usedMb(), l.capacityMb()));
            bar(sb, "compute", x, MARGIN + 62, l.complexityShare(), l.powerShare(), colour, String.format(Locale.ROOT,
                    "compute %.1f%% (power %.1f%%)", 100 * l.complexityShare(), 100 * l.powerShare()));
            for (String model : l.models()) {
                int[] at = box.get(model);
                sb.append(String.format(Locale.ROOT, "<g class=\"model\" data-model=\"%s\" data-device=\"%s\">"
                                + "<title>%s on %s</title><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"3\""
                                + " fill=\"%s\" fill-opacity=\"0.18\" stroke=\"%s\"/>", escape(model), name,
                        escape(model), name, x, y(at[1]), COLUMN, BOX, colour, colour));
                String fit = model.length() > 26 ? String.format(Locale.ROOT,
                        " textLength=\"%d\" lengthAdjust=\"spacingAndGlyphs\"", COLUMN - 10) : "";
                sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\"%s>%s</text></g>%n", x + 5,
                        y(at[1]) + 14, fit, escape(model)));
            }
            sb.append("</g>\n");
        }

        /** A bar of {@code fraction} (clipped at 1) with a label above it and, unless NaN, a tick at {@code mark}. */
        private static void bar(StringBuilder sb, String kind, int x, int y, double fraction, double mark,
                String colour, String label) {
            sb.append(String.format(Locale.ROOT, "<g class=\"%s-bar\"><text x=\"%d\" y=\"%d\" fill=\"#444\">%s</text>",
                    kind, x, y + 8, escape(label)));
            sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"12\" fill=\"#eeeeee\""
                    + " stroke=\"#999\"/>", x, y + 13, COLUMN));
            sb.append(String.format(Locale.ROOT, "<rect class=\"fill\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"12\""
                    + " fill=\"%s\"/>", x, y + 13, COLUMN * Math.min(1, Math.max(0, fraction)), colour));
            if (!Double.isNaN(mark)) {
                double mx = x + COLUMN * Math.min(1, Math.max(0, mark));
                sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#000\""
                        + " stroke-width=\"2\"/>", mx, y + 10, mx, y + 28));
            }
            sb.append("</g>\n");
        }

        /** The connections across devices, heaviest last (on top); returns how many were drawn. */
        private int connections(StringBuilder sb) {
            List<Placement.Crossing> all = p.crossings();
            List<Placement.Crossing> drawn = all.subList(0, Math.min(MAX_DRAWN, all.size()));
            double heaviest = 0;
            for (Placement.Crossing c : drawn) {
                heaviest = Math.max(heaviest, c.volume());
            }
            sb.append("<g class=\"cuts\" fill=\"none\">\n");
            for (int k = drawn.size() - 1; k >= 0; k--) {
                cut(sb, drawn.get(k), heaviest, k < LABELLED);
            }
            sb.append("</g>\n");
            return drawn.size();
        }

        private void cut(StringBuilder sb, Placement.Crossing c, double heaviest, boolean label) {
            int[] from = box.get(c.from());
            int[] to = box.get(c.to());
            boolean right = from[0] < to[0];
            double x1 = x(from[0]) + (right ? COLUMN : 0);
            double x2 = x(to[0]) + (right ? 0 : COLUMN);
            double y1 = y(from[1]) + BOX / 2.0;
            double y2 = y(to[1]) + BOX / 2.0;
            double bend = Math.max(30, Math.abs(x2 - x1) / 3) * (right ? 1 : -1);
            double width = heaviest > 0 ? Math.max(0.75, MAX_STROKE * c.volume() / heaviest) : 1;
            sb.append(String.format(Locale.ROOT, "<path class=\"cut\" data-from=\"%s\" data-to=\"%s\""
                            + " data-volume=\"%s\" d=\"M %.1f %.1f C %.1f %.1f, %.1f %.1f, %.1f %.1f\""
                            + " stroke=\"#333\" stroke-opacity=\"0.45\" stroke-width=\"%.2f\"><title>%s (%s) -&gt; %s"
                            + " (%s): volume %.4g</title></path>%n", escape(c.from()), escape(c.to()), c.volume(), x1,
                    y1, x1 + bend, y1, x2 - bend, y2, x2, y2, width, escape(c.from()), escape(c.fromDevice()),
                    escape(c.to()), escape(c.toDevice()), c.volume()));
            if (label) {
                sb.append(String.format(Locale.ROOT, "<text class=\"cut-label\" x=\"%.1f\" y=\"%.1f\""
                                + " text-anchor=\"middle\" font-weight=\"bold\" fill=\"#000\">%.4g</text>%n",
                        (x1 + x2) / 2, (y1 + y2) / 2 - 4, c.volume()));
            }
        }
    }
}
