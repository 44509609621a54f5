package dev.tessera.assigner;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The result of a placement run: the device of each model, per-device loads, the cost terms and any hard
 * constraint violations (only {@link PlacementMethod#GRADIENT} can have some). Immutable and thread-safe.
 */
public final class Placement {

    /** What one device carries. {@code complexityShare} is this device's share of the total complexity. */
    public record DeviceLoad(
            Device device,
            double usedMb,
            double capacityMb,
            double complexity,
            double complexityLimit,
            double complexityShare,
            double powerShare,
            List<String> models) {}

    /**
     * The cost terms. {@code objective} is the normalised objective the assigner minimises; {@code
     * communication} is Σ volume × distance; {@code overflowMb} and {@code balanceExcess} are 0 for a feasible
     * placement.
     */
    public record Cost(
            double objective,
            double communication,
            double complexityMismatch,
            double overflowMb,
            double balanceExcess) {}

    /** A connection between models on different devices, with its cost (volume × distance). */
    public record Crossing(String from, String to, String fromDevice, String toDevice, double volume, double cost) {}

    private final List<String> models;
    private final List<Device> devices;
    private final int[] assignment;
    private final List<DeviceLoad> loads;
    private final Cost cost;
    private final List<Crossing> crossings;
    private final List<String> violations;
    private final PlacementMethod method;
    private final double seconds;

    Placement(
            List<String> models,
            List<Device> devices,
            int[] assignment,
            List<DeviceLoad> loads,
            Cost cost,
            List<Crossing> crossings,
            List<String> violations,
            PlacementMethod method,
            double seconds) {
        this.models = List.copyOf(models);
        this.devices = List.copyOf(devices);
        this.assignment = assignment.clone();
        this.loads = List.copyOf(loads);
        this.cost = cost;
        List<Crossing> sorted = new ArrayList<>(crossings);
        sorted.sort(Comparator.comparingDouble(Crossing::cost).reversed());
        this.crossings = Collections.unmodifiableList(sorted);
        this.violations = List.copyOf(violations);
        this.method = method;
        this.seconds = seconds;
    }

    /** Model names in input order. */
    public List<String> models() {
        return models;
    }

    public List<Device> devices() {
        return devices;
    }

    /** The device of each model, in input order. */
    public List<Device> assignment() {
        List<Device> out = new ArrayList<>(assignment.length);
        for (int d : assignment) {
            out.add(devices.get(d));
        }
        return Collections.unmodifiableList(out);
    }

    /** The index into {@link #devices()} of each model's device. */
    public int[] deviceIndices() {
        return assignment.clone();
    }

    /** Model name to device name, in input order. */
    public Map<String, String> assignmentByName() {
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < assignment.length; i++) {
            out.put(models.get(i), devices.get(assignment[i]).name());
        }
        return Collections.unmodifiableMap(out);
    }

    public List<DeviceLoad> loads() {
        return loads;
    }

    public Cost cost() {
        return cost;
    }

    /** Connections that cross devices, heaviest (by cost) first. */
    public List<Crossing> crossings() {
        return crossings;
    }

    /** Hard constraint violations, each a sentence with numbers; empty for a feasible placement. */
    public List<String> violations() {
        return violations;
    }

    public boolean feasible() {
        return violations.isEmpty();
    }

    public PlacementMethod method() {
        return method;
    }

    /** Wall-clock seconds the run took. */
    public double seconds() {
        return seconds;
    }

    @Override
    public String toString() {
        return "Placement" + assignmentByName() + " " + cost + (violations.isEmpty() ? "" : " violations=" + violations);
    }
}
