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

    /**
     * What one device carries. {@code complexityShare} is this device's share of the total complexity.
     *
     * @param device the device
     * @param usedMb the memory demand placed on it, in MB (sizeMb × modelSizeMultiplier, summed)
     * @param capacityMb the memory models may use, in MB (memoryMb × maxMemRatio)
     * @param complexity the complexity placed on it, in the models' complexity unit
     * @param complexityLimit its balance limit, or NaN when {@code balanceTolerance} is not set
     * @param complexityShare its share of the total complexity (0..1; 0 when the total is 0)
     * @param powerShare its share of the total compute power (0..1)
     * @param models the names of the models placed on it, in input order
     */
    public record DeviceLoad(
            DeviceSpec device,
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
     *
     * @param objective the normalised objective (connectionWeight × communication / (Σ volume × max distance) +
     *     complexityMismatch)
     * @param communication Σ volume × distance over all connections, in volume × distance units
     * @param complexityMismatch complexityMatchWeight × Σ_d (complexity share_d − power share_d)²
     * @param overflowMb memory demand above capacity, in MB, summed over devices
     * @param balanceExcess complexity above the balance limits, summed over devices (0 when balance is not set)
     */
    public record Cost(
            double objective,
            double communication,
            double complexityMismatch,
            double overflowMb,
            double balanceExcess) {}

    /**
     * A connection between models on different devices, with its cost (volume × distance).
     *
     * @param from the sending model's name
     * @param to the receiving model's name
     * @param fromDevice the name of the sending model's device
     * @param toDevice the name of the receiving model's device
     * @param volume the connection's traffic, as given to {@code connect}
     * @param cost volume × the distance between the two devices
     */
    public record Crossing(String from, String to, String fromDevice, String toDevice, double volume, double cost) {}

    /**
     * What the gradient phase (the relaxation on DJL) did in this run. It is skipped when the problem is small
     * enough to search exhaustively (then the placement is proven optimal and DJL is not loaded), and it stops before
     * its last step once it has converged.
     *
     * @param steps the gradient steps it ran (on a multilevel run, on the coarsest graph); 0 when skipped
     * @param maxSteps the steps it was allowed: the {@code iterations} option, or on a multilevel run the coarsest
     *     graph's share of it
     * @param converged whether it stopped early because the relaxed objective and its hardened placement had settled
     * @param summary one line for people, e.g. {@code "skipped: 9 placements searched exhaustively (optimal)"} or
     *     {@code "stopped at step 150 of 500 (converged)"}
     */
    public record GradientPhase(int steps, int maxSteps, boolean converged, String summary) {
        /** The summary. */
        @Override
        public String toString() {
            return summary;
        }
    }

    private final List<String> models;
    private final List<DeviceSpec> devices;
    private final int[] assignment;
    private final List<DeviceLoad> loads;
    private final Cost cost;
    private final List<Crossing> crossings;
    private final List<String> violations;
    private final PlacementMethod method;
    private final GradientPhase gradientPhase;
    private final double seconds;

    Placement(
            List<String> models,
            List<DeviceSpec> devices,
            int[] assignment,
            List<DeviceLoad> loads,
            Cost cost,
            List<Crossing> crossings,
            List<String> violations,
            PlacementMethod method,
            GradientPhase gradientPhase,
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
        this.gradientPhase = gradientPhase;
        this.seconds = seconds;
    }

    /**
     * Model names in input order.
     *
     * @return an unmodifiable list
     */
    public List<String> models() {
        return models;
    }

    /**
     * The devices placed on, in the order given to {@code setDevices}.
     *
     * @return an unmodifiable list
     */
    public List<DeviceSpec> devices() {
        return devices;
    }

    /**
     * The device of each model, in input order.
     *
     * @return a new unmodifiable list on each call
     */
    public List<DeviceSpec> assignment() {
        List<DeviceSpec> out = new ArrayList<>(assignment.length);
        for (int d : assignment) {
            out.add(devices.get(d));
        }
        return Collections.unmodifiableList(out);
    }

    /**
     * The DJL device of each model, in input order: {@code ai.djl.Device.gpu(N)} for {@code cuda:N} (or {@code
     * gpu:N}), {@code ai.djl.Device.cpu()} for the CPU. Whether DJL sees that GPU is not checked here.
     *
     * @return a new unmodifiable list on each call
     * @throws IllegalStateException when a model is placed on a virtual device (a GPU without an ordinal, such as
     *     {@code tpu0}), which has no DJL device; the message names the model
     */
    public List<ai.djl.Device> djlAssignment() {
        List<ai.djl.Device> out = new ArrayList<>(assignment.length);
        for (int i = 0; i < assignment.length; i++) {
            DeviceSpec d = devices.get(assignment[i]);
            if (d.isGpu() && d.index() < 0) {
                throw new IllegalStateException("model '" + models.get(i) + "' is placed on " + d.name()
                        + ", a virtual device with no DJL device; place on Devices.detect() to run the model");
            }
            out.add(d.toDjlDevice());
        }
        return Collections.unmodifiableList(out);
    }

    /**
     * The index into {@link #devices()} of each model's device, in input order.
     *
     * @return a new array on each call; the caller owns it
     */
    public int[] deviceIndices() {
        return assignment.clone();
    }

    /**
     * Model name to device name, in input order.
     *
     * @return a new unmodifiable map on each call, iterating in input order
     */
    public Map<String, String> assignmentByName() {
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < assignment.length; i++) {
            out.put(models.get(i), devices.get(assignment[i]).name());
        }
        return Collections.unmodifiableMap(out);
    }

    /**
     * What each device carries, in device order.
     *
     * @return an unmodifiable list with one entry per device
     */
    public List<DeviceLoad> loads() {
        return loads;
    }

    /**
     * The cost terms of this placement.
     *
     * @return the cost
     */
    public Cost cost() {
        return cost;
    }

    /**
     * Connections that cross devices, heaviest (by cost) first; connections within one device are left out.
     *
     * @return an unmodifiable list
     */
    public List<Crossing> crossings() {
        return crossings;
    }

    /**
     * Hard constraint violations (memory, and balance when set), each a sentence with numbers; empty for a
     * feasible placement, and always empty for {@link PlacementMethod#REFINED}.
     *
     * @return an unmodifiable list
     */
    public List<String> violations() {
        return violations;
    }

    /**
     * Whether the placement meets every hard constraint.
     *
     * @return true when {@link #violations()} is empty
     */
    public boolean feasible() {
        return violations.isEmpty();
    }

    /**
     * The method that produced this placement.
     *
     * @return the method set by {@code optMethod}
     */
    public PlacementMethod method() {
        return method;
    }

    /**
     * What the gradient phase did: the steps it ran, whether it stopped early, or why it was skipped.
     *
     * @return the gradient phase's report
     */
    public GradientPhase gradientPhase() {
        return gradientPhase;
    }

    /**
     * Wall-clock seconds the run took (both phases, without moving the blocks).
     *
     * @return the duration in seconds
     */
    public double seconds() {
        return seconds;
    }

    @Override
    public String toString() {
        return "Placement" + assignmentByName() + " " + cost + (violations.isEmpty() ? "" : " violations=" + violations);
    }
}
