package dev.tessera.tools.assign;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.assigner.DeviceSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the placement graph JSON format. Stateless and thread-safe. Strict: unknown fields, wrong types, negative
 * or huge numbers, duplicate names or keys, self-loops, connections to unknown models and bad option values are
 * errors that name the file and the field; files over the size, nesting or length limits of {@link InputFiles}
 * are errors that name the file and the limit.
 */
public final class GraphJson {
    private GraphJson() {}

    /** The graph as this format's JSON text, which {@link #parse} reads back to an equal graph. */
    public static String write(GraphSpec g) {
        com.fasterxml.jackson.databind.ObjectMapper mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        com.fasterxml.jackson.databind.node.ArrayNode models = root.putArray("models");
        for (GraphSpec.Model m : g.models()) {
            ObjectNode o = models.addObject().put("name", m.name()).put("sizeMb", m.sizeMb());
            if (m.complexity() != null) {
                o.put("complexity", m.complexity());
            }
        }
        com.fasterxml.jackson.databind.node.ArrayNode connections = root.putArray("connections");
        for (GraphSpec.Connection c : g.connections()) {
            connections.addObject().put("from", c.from()).put("to", c.to()).put("volume", c.volume());
        }
        if (g.devices() != null) {
            com.fasterxml.jackson.databind.node.ArrayNode devices = root.putArray("devices");
            for (DeviceSpec d : g.devices()) {
                ObjectNode o = devices.addObject().put("name", d.name()).put("memoryMb", d.memoryMb());
                if (d.power() != null) {
                    o.put("power", d.power());
                }
            }
        }
        if (g.distance() != null) {
            root.set("distance", mapper.valueToTree(g.distance()));
        }
        if (!g.options().isEmpty()) {
            root.set("options", mapper.valueToTree(g.options()));
        }
        return root.toString();
    }

    public static GraphSpec read(Path file) {
        return parse(file.toString(), InputFiles.readText(file));
    }

    /**
     * Parses graph JSON; {@code source} names the input in messages. The parser's limits (nesting, string,
     * number and document length, token count) are those of {@link InputFiles}.
     */
    public static GraphSpec parse(String source, String text) {
        JsonNode root = InputFiles.readTree(source, text);
        if (root == null) {
            throw new GraphFormatException(source + ": is empty (expected a JSON object with \"models\" and \"connections\")");
        }
        return new Reader(source).graph(root);
    }

    private static final class Reader {
        private final String source;

        Reader(String source) {
            this.source = source;
        }

        private GraphFormatException error(String path, String problem) {
            return new GraphFormatException(source + ": " + path + ": " + problem);
        }

        GraphSpec graph(JsonNode root) {
            if (root == null || !root.isObject()) {
                throw error("(top level)", "expected a JSON object with \"models\" and \"connections\"");
            }
            checkFields(root, "(top level)", Set.of("models", "connections", "devices", "distance", "options"));
            List<GraphSpec.Model> models = models(required(root, "models", "(top level)"));
            Set<String> names = new HashSet<>();
            for (GraphSpec.Model m : models) {
                names.add(m.name());
            }
            List<GraphSpec.Connection> connections = root.has("connections")
                    ? connections(root.get("connections"), names)
                    : List.of();
            List<DeviceSpec> devices = root.has("devices") ? devices(root.get("devices")) : null;
            double[][] distance = root.has("distance") ? distance(root.get("distance"), devices) : null;
            Map<String, Object> options = root.has("options") ? options(root.get("options")) : Map.of();
            return new GraphSpec(models, connections, devices, distance, options);
        }

        private List<GraphSpec.Model> models(JsonNode node) {
            if (!node.isArray() || node.isEmpty()) {
                throw error("models", "expected a non-empty array of {\"name\", \"sizeMb\", \"complexity\"?}");
            }
            List<GraphSpec.Model> out = new ArrayList<>();
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < node.size(); i++) {
                String path = "models[" + i + "]";
                JsonNode m = object(node.get(i), path);
                checkFields(m, path, Set.of("name", "sizeMb", "complexity"));
                String name = text(required(m, "name", path), path + ".name");
                if (!seen.add(name)) {
                    throw error(path + ".name", "duplicate model name '" + name + "'");
                }
                double size = nonNegative(required(m, "sizeMb", path), path + ".sizeMb");
                Double complexity = m.has("complexity") ? nonNegative(m.get("complexity"), path + ".complexity") : null;
                out.add(new GraphSpec.Model(name, size, complexity));
            }
            return out;
        }

        private List<GraphSpec.Connection> connections(JsonNode node, Set<String> names) {
            if (!node.isArray()) {
                throw error("connections", "expected an array of {\"from\", \"to\", \"volume\"}");
            }
            List<GraphSpec.Connection> out = new ArrayList<>();
            for (int i = 0; i < node.size(); i++) {
                String path = "connections[" + i + "]";
                JsonNode c = object(node.get(i), path);
                checkFields(c, path, Set.of("from", "to", "volume"));
                String from = modelRef(required(c, "from", path), path + ".from", names);
                String to = modelRef(required(c, "to", path), path + ".to", names);
                if (from.equals(to)) {
                    throw error(path, "self-loop: from and to are both '" + from + "' (traffic within one model costs"
                            + " nothing; leave the connection out)");
                }
                double volume = nonNegative(required(c, "volume", path), path + ".volume");
                out.add(new GraphSpec.Connection(from, to, volume));
            }
            return out;
        }

        private String modelRef(JsonNode node, String path, Set<String> names) {
            String name = text(node, path);
            if (!names.contains(name)) {
                throw error(path, "unknown model '" + name + "' (not in \"models\")");
            }
            return name;
        }

        private List<DeviceSpec> devices(JsonNode node) {
            if (!node.isArray() || node.isEmpty()) {
                throw error("devices", "expected a non-empty array of {\"name\", \"memoryMb\", \"power\"?}");
            }
            List<DeviceSpec> out = new ArrayList<>();
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < node.size(); i++) {
                String path = "devices[" + i + "]";
                JsonNode d = object(node.get(i), path);
                checkFields(d, path, Set.of("name", "memoryMb", "power"));
                String name = text(required(d, "name", path), path + ".name");
                if (!seen.add(name)) {
                    throw error(path + ".name", "duplicate device name '" + name + "'");
                }
                double memory = nonNegative(required(d, "memoryMb", path), path + ".memoryMb");
                Double power = d.has("power") ? nonNegative(d.get("power"), path + ".power") : null;
                DeviceSpec device;
                try {
                    device = DeviceSpec.of(name, memory);
                } catch (IllegalArgumentException e) {
                    throw error(path + ".name", e.getMessage());
                }
                if (power != null) {
                    device = device.withPower(power);
                }
                out.add(device);
            }
            return out;
        }

        private double[][] distance(JsonNode node, List<DeviceSpec> devices) {
            if (!node.isArray() || node.isEmpty()) {
                throw error("distance", "expected a square array of arrays of numbers");
            }
            int m = node.size();
            if (devices != null && devices.size() != m) {
                throw error("distance", "has " + m + " rows but there are " + devices.size() + " devices");
            }
            double[][] out = new double[m][];
            for (int r = 0; r < m; r++) {
                JsonNode row = node.get(r);
                if (!row.isArray() || row.size() != m) {
                    throw error("distance[" + r + "]", "expected " + m + " numbers (the matrix must be square)");
                }
                out[r] = new double[m];
                for (int c = 0; c < m; c++) {
                    out[r][c] = nonNegative(row.get(c), "distance[" + r + "][" + c + "]");
                }
                if (out[r][r] != 0) {
                    throw error("distance[" + r + "][" + r + "]", "expected 0 on the diagonal (same device), got " + out[r][r]);
                }
            }
            return out;
        }

        private Map<String, Object> options(JsonNode node) {
            ObjectNode o = object(node, "options");
            checkFields(o, "options", new HashSet<>(GraphSpec.OPTION_NAMES));
            Map<String, Object> out = new LinkedHashMap<>();
            Iterator<Map.Entry<String, JsonNode>> it = o.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                JsonNode v = e.getValue();
                if (!(v.isNumber() || v.isBoolean() || v.isTextual())) {
                    throw error("options." + e.getKey(), "expected a number, boolean or string, got " + v.getNodeType());
                }
                Object value = v.isNumber() ? v.numberValue() : v.isBoolean() ? v.booleanValue() : v.textValue();
                try {
                    GraphSpec.checkOption(e.getKey(), value);
                } catch (IllegalArgumentException bad) {
                    throw error("options." + e.getKey(), bad.getMessage());
                }
                out.put(e.getKey(), value);
            }
            return out;
        }

        private ObjectNode object(JsonNode node, String path) {
            if (node == null || !node.isObject()) {
                throw error(path, "expected an object");
            }
            return (ObjectNode) node;
        }

        private JsonNode required(JsonNode node, String field, String path) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) {
                throw error(path, "missing required field '" + field + "'");
            }
            return v;
        }

        private void checkFields(JsonNode node, String path, Set<String> allowed) {
            Iterator<String> it = node.fieldNames();
            while (it.hasNext()) {
                String f = it.next();
                if (!allowed.contains(f)) {
                    throw error(path, "unknown field '" + f + "' (expected " + String.join(", ", sorted(allowed)) + ")");
                }
            }
        }

        private static List<String> sorted(Set<String> s) {
            List<String> l = new ArrayList<>(s);
            l.sort(null);
            return l;
        }

        private String text(JsonNode node, String path) {
            if (!node.isTextual() || node.textValue().isBlank()) {
                throw error(path, "expected a non-empty string, got " + show(node));
            }
            return node.textValue();
        }

        private double nonNegative(JsonNode node, String path) {
            if (!node.isNumber()) {
                throw error(path, "expected a number, got " + show(node));
            }
            double v = node.doubleValue();
            if (!InputFiles.inRange(v)) {
                throw error(path, "expected " + InputFiles.RANGE + ", got " + show(node));
            }
            return v;
        }

        /** A value for a message: its JSON text, cut to 60 characters. */
        private static String show(JsonNode node) {
            String s = node.toString();
            return s.length() <= 60 ? s : s.substring(0, 57) + "...";
        }
    }
}
