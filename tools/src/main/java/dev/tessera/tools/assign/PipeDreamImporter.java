package dev.tessera.tools.assign;

import dev.tessera.assigner.DeviceSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a PipeDream profiler {@code graph.txt} (msr-fiddle/pipedream) and converts it as the project's graph
 * collection does. Stateless and thread-safe.
 *
 * <p>Node lines are {@code name -- description -- forward_compute_time=F, backward_compute_time=B,
 * activation_size=A, parameter_size=P}; edge lines are {@code <tab>from -- to}. Conversion:
 *
 * <ul>
 *   <li>sizeMb = (4 × P + A) / 2^20 (weights, gradients and two Adam moments, plus the activation);
 *   <li>complexity = F + B milliseconds;
 *   <li>each edge carries its source's activation, A / 2^20 MB; an edge from a node to itself is an error;
 *   <li>devices: 4 GPUs of power 1, each with max(1.25 × total/4, 1.1 × largest) MB, and a CPU of power 0 with
 *       room for everything (total + 1 MB);
 *   <li>options: modelSizeMultiplier 1, maxMemRatio 1, cpuWeight 0, connectionWeight 1, complexityMatchWeight 0,
 *       balanceTolerance 0.5, gpuGpuDistance 1, cpuGpuDistance 10.
 * </ul>
 */
public final class PipeDreamImporter {
    private static final double MB = 1024.0 * 1024.0;

    private PipeDreamImporter() {}

    public static GraphSpec read(Path file) {
        return parse(file.toString(), InputFiles.readText(file).lines().toList());
    }

    public static GraphSpec parse(String source, List<String> lines) {
        Map<String, double[]> nodes = new LinkedHashMap<>();
        List<String[]> edges = new ArrayList<>();
        List<Integer> edgeLines = new ArrayList<>();
        for (int k = 0; k < lines.size(); k++) {
            String line = lines.get(k);
            if (line.isBlank()) {
                continue;
            }
            String where = source + ": line " + (k + 1);
            if (line.startsWith("\t")) {
                String[] parts = line.trim().split(" -- ");
                if (parts.length != 2 || parts[0].isBlank() || parts[1].isBlank()) {
                    throw new GraphFormatException(where + ": expected an edge '<tab>from -- to', got '" + line.trim() + "'");
                }
                if (parts[0].trim().equals(parts[1].trim())) {
                    throw new GraphFormatException(where + ": edge '" + line.trim() + "' is a self-loop (traffic within"
                            + " one node costs nothing; remove the line)");
                }
                edges.add(new String[] {parts[0].trim(), parts[1].trim()});
                edgeLines.add(k + 1);
            } else {
                String[] parts = line.split(" -- ");
                if (parts.length < 3) {
                    throw new GraphFormatException(where + ": expected 'name -- description -- metrics', got '" + line + "'");
                }
                String name = parts[0].trim();
                if (nodes.containsKey(name)) {
                    throw new GraphFormatException(where + ": duplicate node '" + name + "'");
                }
                nodes.put(name, metrics(where, parts[parts.length - 1]));
            }
        }
        if (nodes.isEmpty()) {
            throw new GraphFormatException(source + ": no node lines (is this a PipeDream graph.txt?)");
        }
        return convert(source, nodes, edges, edgeLines);
    }

    /** forward, backward, activation bytes, parameter bytes. */
    private static double[] metrics(String where, String text) {
        Map<String, Double> kv = new HashMap<>();
        for (String item : text.split(",")) {
            String[] pair = item.trim().split("=");
            if (pair.length != 2) {
                throw new GraphFormatException(where + ": bad metric '" + item.trim() + "' (expected key=value)");
            }
            try {
                double v = Double.parseDouble(pair[1].trim());
                if (!InputFiles.inRange(v)) {
                    throw new NumberFormatException();
                }
                kv.put(pair[0].trim(), v);
            } catch (NumberFormatException e) {
                throw new GraphFormatException(where + ": " + pair[0].trim() + "=" + pair[1].trim() + " (expected " + InputFiles.RANGE + ")");
            }
        }
        String[] keys = {"forward_compute_time", "backward_compute_time", "activation_size", "parameter_size"};
        double[] out = new double[keys.length];
        for (int i = 0; i < keys.length; i++) {
            Double v = kv.get(keys[i]);
            if (v == null) {
                throw new GraphFormatException(where + ": missing " + keys[i]);
            }
            out[i] = v;
        }
        return out;
    }

    private static GraphSpec convert(String source, Map<String, double[]> nodes, List<String[]> edges, List<Integer> edgeLines) {
        List<GraphSpec.Model> models = new ArrayList<>();
        double total = 0;
        double largest = 0;
        for (Map.Entry<String, double[]> e : nodes.entrySet()) {
            double[] m = e.getValue();
            double size = (4 * m[3] + m[2]) / MB;
            total += size;
            largest = Math.max(largest, size);
            models.add(new GraphSpec.Model(e.getKey(), size, m[0] + m[1]));
        }
        List<GraphSpec.Connection> connections = new ArrayList<>();
        for (int k = 0; k < edges.size(); k++) {
            String[] e = edges.get(k);
            for (String end : e) {
                if (!nodes.containsKey(end)) {
                    throw new GraphFormatException(source + ": line " + edgeLines.get(k) + ": edge names unknown node '" + end + "'");
                }
            }
            connections.add(new GraphSpec.Connection(e[0], e[1], nodes.get(e[0])[2] / MB));
        }
        double gpuMb = Math.max(1.25 * total / 4, 1.1 * largest);
        List<DeviceSpec> devices = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            devices.add(DeviceSpec.gpu(i, gpuMb).withPower(1));
        }
        devices.add(DeviceSpec.cpu(total + 1).withPower(0));
        Map<String, Object> options = new LinkedHashMap<>();
        options.put("modelSizeMultiplier", 1);
        options.put("maxMemRatio", 1.0);
        options.put("cpuWeight", 0);
        options.put("connectionWeight", 1);
        options.put("complexityMatchWeight", 0);
        options.put("balanceTolerance", 0.5);
        options.put("gpuGpuDistance", 1);
        options.put("cpuGpuDistance", 10);
        return new GraphSpec(models, connections, devices, null, options);
    }
}
