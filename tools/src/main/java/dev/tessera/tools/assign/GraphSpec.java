package dev.tessera.tools.assign;

import dev.tessera.assigner.DeviceSpec;
import dev.tessera.assigner.ModelAssigner;
import dev.tessera.assigner.PlacementMethod;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A placement graph as read from a file: models, connections, and optionally devices, a distance matrix and
 * builder options. Immutable.
 *
 * @param models the models in file order
 * @param connections traffic between models, by name
 * @param devices the devices, or null to detect them
 * @param distance an explicit distance matrix, or null
 * @param options builder option name to value (numbers, booleans or strings)
 */
public record GraphSpec(
        List<Model> models, List<Connection> connections, List<DeviceSpec> devices, double[][] distance, Map<String, Object> options) {

    /** A model: name, size in MB, and complexity (null: defaults to demand). */
    public record Model(String name, double sizeMb, Double complexity) {}

    public record Connection(String from, String to, double volume) {}

    /** Sets one named builder option from a parsed value. */
    private interface Setter {
        void apply(ModelAssigner.Builder b, String name, Object v);
    }

    /** Each option a graph file (and {@code --option}) may set, by the builder's name, in documentation order. */
    private static final Map<String, Setter> SETTERS = setters();

    /** The option names a graph file (and {@code --option}) may set: the builder's names. */
    public static final List<String> OPTION_NAMES = List.copyOf(SETTERS.keySet());

    private static Map<String, Setter> setters() {
        Map<String, Setter> m = new LinkedHashMap<>();
        m.put("modelSizeMultiplier", (b, n, v) -> b.optModelSizeMultiplier(num(n, v)));
        m.put("maxMemRatio", (b, n, v) -> b.optMaxMemRatio(num(n, v)));
        m.put("cpuWeight", (b, n, v) -> b.optCpuWeight(num(n, v)));
        m.put("connectionWeight", (b, n, v) -> b.optConnectionWeight(num(n, v)));
        m.put("sizeMatchWeight", (b, n, v) -> b.optSizeMatchWeight(num(n, v)));
        m.put("complexityMatchWeight", (b, n, v) -> b.optComplexityMatchWeight(num(n, v)));
        m.put("entropyWeight", (b, n, v) -> b.optEntropyWeight(num(n, v)));
        m.put("iterations", (b, n, v) -> b.optIterations(integer(n, v)));
        m.put("updateRate", (b, n, v) -> b.optUpdateRate(num(n, v)));
        m.put("gpuGpuDistance", (b, n, v) -> b.optGpuGpuDistance(num(n, v)));
        m.put("cpuGpuDistance", (b, n, v) -> b.optCpuGpuDistance(num(n, v)));
        m.put("seed", (b, n, v) -> b.optSeed(longInteger(n, v)));
        m.put("balanceTolerance", (b, n, v) -> b.optBalanceTolerance(num(n, v)));
        m.put("method", (b, n, v) -> b.optMethod(PlacementMethod.parse(String.valueOf(v))));
        m.put("searchEffort", (b, n, v) -> b.optSearchEffort(num(n, v)));
        return java.util.Collections.unmodifiableMap(m);
    }

    public GraphSpec {
        models = List.copyOf(models);
        connections = List.copyOf(connections);
        devices = devices == null ? null : List.copyOf(devices);
        options = new LinkedHashMap<>(options);
    }

    /** This graph with other devices (and no distance matrix unless it still fits them). */
    public GraphSpec withDevices(List<DeviceSpec> newDevices) {
        double[][] keep = distance != null && distance.length == newDevices.size() ? distance : null;
        return new GraphSpec(models, connections, newDevices, keep, options);
    }

    /** This graph with more options, overriding those of the file. */
    public GraphSpec withOptions(Map<String, Object> more) {
        Map<String, Object> merged = new LinkedHashMap<>(options);
        merged.putAll(more);
        return new GraphSpec(models, connections, devices, distance, merged);
    }

    /** A builder holding this graph; devices must be set (not null). */
    public ModelAssigner.Builder toBuilder() {
        if (devices == null) {
            throw new IllegalStateException("devices not set");
        }
        ModelAssigner.Builder b = ModelAssigner.builder();
        for (Model m : models) {
            if (m.complexity() == null) {
                b.addModel(m.name(), m.sizeMb());
            } else {
                b.addModel(m.name(), m.sizeMb(), m.complexity());
            }
        }
        for (Connection c : connections) {
            b.connect(c.from(), c.to(), c.volume());
        }
        b.setDevices(devices);
        if (distance != null) {
            b.optDistance(distance);
        }
        options.forEach((k, v) -> applyOption(b, k, v));
        return b;
    }

    /**
     * Checks one option name and value as {@link #toBuilder()} would apply them, on a scratch builder.
     *
     * @throws IllegalArgumentException naming the option and the value, for an unknown name or a bad value
     */
    static void checkOption(String name, Object v) {
        applyOption(ModelAssigner.builder(), name, v);
    }

    /** Sets one builder option by name; values are checked by the builder's setters. */
    static void applyOption(ModelAssigner.Builder b, String name, Object v) {
        Setter setter = SETTERS.get(name);
        if (setter == null) {
            throw new IllegalArgumentException("unknown option '" + name + "' (expected one of " + OPTION_NAMES + ")");
        }
        setter.apply(b, name, v);
    }

    /** A number of magnitude at most {@link InputFiles#MAX_VALUE} (the builder checks the range it needs). */
    private static double num(String name, Object v) {
        double d;
        if (v instanceof Number n) {
            d = n.doubleValue();
        } else {
            try {
                d = Double.parseDouble(String.valueOf(v).trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(name + "=" + v + " (expected a number)");
            }
        }
        if (Math.abs(d) > InputFiles.MAX_VALUE) {
            throw new IllegalArgumentException(name + "=" + v + " (expected a number of magnitude at most " + InputFiles.MAX_VALUE + ")");
        }
        return d;
    }

    private static int integer(String name, Object v) {
        double d = num(name, v);
        if (d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(name + "=" + v + " (expected an integer from " + Integer.MIN_VALUE
                    + " to " + Integer.MAX_VALUE + ")");
        }
        return (int) d;
    }

    /** A long from an integral number or text; 1.0 and 1e3 are integers, 1.5 and 2^63 are errors. */
    private static long longInteger(String name, Object v) {
        if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        try {
            return new java.math.BigDecimal(String.valueOf(v).trim()).longValueExact();
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException(name + "=" + v + " (expected an integer from " + Long.MIN_VALUE
                    + " to " + Long.MAX_VALUE + ")");
        }
    }
}
