package dev.tessera.assigner;

import java.util.Objects;

/**
 * A place a model can live: a GPU or the CPU, with the memory it offers for models and its compute power.
 *
 * <p>Immutable and thread-safe. {@code memoryMb} is the memory available for models before {@code
 * maxMemRatio} is applied. {@code power} is relative compute power; when it is not given, the assigner uses 1
 * for a GPU and {@code cpuWeight} for the CPU, as machin does.
 */
public final class Device {

    /** What kind of processor a device is. */
    public enum Kind {
        GPU,
        CPU
    }

    private final String name;
    private final Kind kind;
    private final int index;
    private final double memoryMb;
    private final Double power;

    private Device(String name, Kind kind, int index, double memoryMb, Double power) {
        this.name = name;
        this.kind = kind;
        this.index = index;
        this.memoryMb = memoryMb;
        this.power = power;
    }

    /** A GPU {@code cuda:index} offering {@code memoryMb} MB for models. */
    public static Device gpu(int index, double memoryMb) {
        if (index < 0) {
            throw new IllegalArgumentException("index=" + index + " (expected >= 0)");
        }
        return new Device("cuda:" + index, Kind.GPU, index, checkMemory(memoryMb), null);
    }

    /** The CPU, offering {@code memoryMb} MB of host memory for models. */
    public static Device cpu(double memoryMb) {
        return new Device("cpu", Kind.CPU, -1, checkMemory(memoryMb), null);
    }

    /**
     * A device from its name: {@code cpu}, {@code cuda:N} or {@code gpu:N}. Any other name is a virtual GPU
     * (for example {@code tpu0}), with index -1.
     */
    public static Device of(String name, double memoryMb) {
        Objects.requireNonNull(name, "name");
        String n = name.trim();
        if (n.isEmpty()) {
            throw new IllegalArgumentException("device name is empty");
        }
        if (n.equalsIgnoreCase("cpu")) {
            return cpu(memoryMb);
        }
        String lower = n.toLowerCase(java.util.Locale.ROOT);
        for (String prefix : new String[] {"cuda:", "gpu:", "gpu"}) {
            if (lower.startsWith(prefix)) {
                String rest = n.substring(prefix.length());
                if (!rest.isEmpty() && rest.chars().allMatch(Character::isDigit)) {
                    if (rest.length() > 9) {
                        throw new IllegalArgumentException("device name '" + n + "': index " + rest + " is too large");
                    }
                    return new Device(n, Kind.GPU, Integer.parseInt(rest), checkMemory(memoryMb), null);
                }
            }
        }
        return new Device(n, Kind.GPU, -1, checkMemory(memoryMb), null);
    }

    /** A copy of this device with an explicit compute power (>= 0). */
    public Device withPower(double power) {
        if (!(power >= 0) || Double.isInfinite(power)) {
            throw new IllegalArgumentException("power=" + power + " for device " + name + " (expected finite >= 0)");
        }
        return new Device(name, kind, index, memoryMb, power);
    }

    /** A copy of this device with another memory size. */
    public Device withMemoryMb(double memoryMb) {
        return new Device(name, kind, index, checkMemory(memoryMb), power);
    }

    private static double checkMemory(double memoryMb) {
        if (!(memoryMb >= 0) || Double.isInfinite(memoryMb)) {
            throw new IllegalArgumentException("memoryMb=" + memoryMb + " (expected finite >= 0)");
        }
        return memoryMb;
    }

    public String name() {
        return name;
    }

    public Kind kind() {
        return kind;
    }

    public boolean isGpu() {
        return kind == Kind.GPU;
    }

    /** The CUDA ordinal, or -1 for the CPU and for virtual devices. */
    public int index() {
        return index;
    }

    public double memoryMb() {
        return memoryMb;
    }

    /** The explicit compute power, or {@code null} when the assigner's default applies. */
    public Double power() {
        return power;
    }

    /** The compute power used for placement: the explicit one, else 1 for a GPU and {@code cpuWeight} for the CPU. */
    public double effectivePower(double cpuWeight) {
        if (power != null) {
            return power;
        }
        return kind == Kind.CPU ? cpuWeight : 1.0;
    }

    /** The DJL device this stands for: {@code Device.gpu(index)} for a CUDA GPU, otherwise the CPU. */
    public ai.djl.Device toDjlDevice() {
        return kind == Kind.GPU && index >= 0 ? ai.djl.Device.gpu(index) : ai.djl.Device.cpu();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Device d
                && name.equals(d.name)
                && kind == d.kind
                && index == d.index
                && Double.compare(memoryMb, d.memoryMb) == 0
                && Objects.equals(power, d.power);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, kind, index, memoryMb, power);
    }

    @Override
    public String toString() {
        return name + "(" + memoryMb + " MB" + (power == null ? "" : ", power " + power) + ")";
    }
}
