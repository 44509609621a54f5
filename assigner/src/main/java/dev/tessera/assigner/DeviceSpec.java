package dev.tessera.assigner;

import java.util.Objects;

/**
 * A place a model can live: a GPU or the CPU, with the memory it offers for models and its compute power.
 *
 * <p>Immutable and thread-safe. {@code memoryMb} is the memory available for models before {@code
 * maxMemRatio} is applied. {@code power} is relative compute power; when it is not given, the assigner uses 1
 * for a GPU and {@code cpuWeight} for the CPU, as machin does.
 */
public final class DeviceSpec {

    /** What kind of processor a device is. */
    public enum Kind {
        /** A GPU: a CUDA device ({@code cuda:N}, {@code gpu:N}) or a virtual accelerator with index -1. */
        GPU,
        /** The host CPU, with host memory. */
        CPU
    }

    private final String name;
    private final Kind kind;
    private final int index;
    private final double memoryMb;
    private final Double power;

    private DeviceSpec(String name, Kind kind, int index, double memoryMb, Double power) {
        this.name = name;
        this.kind = kind;
        this.index = index;
        this.memoryMb = memoryMb;
        this.power = power;
    }

    /**
     * A GPU {@code cuda:index} offering {@code memoryMb} MB for models, with the default power (1).
     *
     * @param index the CUDA ordinal (>= 0)
     * @param memoryMb memory available for models, in MB (finite, >= 0)
     * @return the device
     * @throws IllegalArgumentException when {@code index} is negative or {@code memoryMb} is negative or not finite
     */
    public static DeviceSpec gpu(int index, double memoryMb) {
        if (index < 0) {
            throw new IllegalArgumentException("index=" + index + " (expected >= 0)");
        }
        return new DeviceSpec("cuda:" + index, Kind.GPU, index, checkMemory(memoryMb), null);
    }

    /**
     * The CPU, named {@code cpu} with index -1, offering {@code memoryMb} MB of host memory for models; its default
     * power is the assigner's {@code cpuWeight}.
     *
     * @param memoryMb host memory available for models, in MB (finite, >= 0)
     * @return the device
     * @throws IllegalArgumentException when {@code memoryMb} is negative or not finite
     */
    public static DeviceSpec cpu(double memoryMb) {
        return new DeviceSpec("cpu", Kind.CPU, -1, checkMemory(memoryMb), null);
    }

    /**
     * The device standing for a DJL device: {@code cuda:N} for {@code ai.djl.Device.gpu(N)}, {@code cpu} for the
     * CPU, with the default power.
     *
     * @param device a DJL GPU or CPU device
     * @param memoryMb memory available for models, in MB (finite, >= 0)
     * @return the device
     * @throws NullPointerException when {@code device} is null
     * @throws IllegalArgumentException when {@code device} is neither a GPU nor the CPU (the message names it), or
     *     {@code memoryMb} is negative or not finite
     */
    public static DeviceSpec of(ai.djl.Device device, double memoryMb) {
        Objects.requireNonNull(device, "device");
        if (device.isGpu()) {
            return gpu(device.getDeviceId(), memoryMb);
        }
        if (ai.djl.Device.Type.CPU.equals(device.getDeviceType())) {
            return cpu(memoryMb);
        }
        throw new IllegalArgumentException("device=" + device + " (expected a DJL GPU or the CPU)");
    }

    /**
     * A device from its name: {@code cpu}, {@code cuda:N}, {@code gpu:N} or {@code gpuN}. Any other name is a
     * virtual GPU (for example {@code tpu0}), with index -1. Prefixes and {@code cpu} are matched ignoring case;
     * the name is trimmed and otherwise kept as given.
     *
     * @param name the device name
     * @param memoryMb memory available for models, in MB (finite, >= 0)
     * @return the device
     * @throws NullPointerException when {@code name} is null
     * @throws IllegalArgumentException when the name is blank, its index has more than 9 digits, or {@code memoryMb}
     *     is negative or not finite
     */
    public static DeviceSpec of(String name, double memoryMb) {
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
                    return new DeviceSpec(n, Kind.GPU, Integer.parseInt(rest), checkMemory(memoryMb), null);
                }
            }
        }
        return new DeviceSpec(n, Kind.GPU, -1, checkMemory(memoryMb), null);
    }

    /**
     * A copy of this device with an explicit compute power, which replaces the assigner's default (1 for a GPU,
     * {@code cpuWeight} for the CPU). A power of 0 lets the device take only models of complexity 0 under balance.
     *
     * @param power relative compute power (finite, >= 0)
     * @return a new device; this one is unchanged
     * @throws IllegalArgumentException when {@code power} is negative, NaN or infinite
     */
    public DeviceSpec withPower(double power) {
        if (!(power >= 0) || Double.isInfinite(power)) {
            throw new IllegalArgumentException("power=" + power + " for device " + name + " (expected finite >= 0)");
        }
        return new DeviceSpec(name, kind, index, memoryMb, power);
    }

    /**
     * A copy of this device with another memory size; name, kind, index and power stay.
     *
     * @param memoryMb memory available for models, in MB (finite, >= 0)
     * @return a new device; this one is unchanged
     * @throws IllegalArgumentException when {@code memoryMb} is negative or not finite
     */
    public DeviceSpec withMemoryMb(double memoryMb) {
        return new DeviceSpec(name, kind, index, checkMemory(memoryMb), power);
    }

    private static double checkMemory(double memoryMb) {
        if (!(memoryMb >= 0) || Double.isInfinite(memoryMb)) {
            throw new IllegalArgumentException("memoryMb=" + memoryMb + " (expected finite >= 0)");
        }
        return memoryMb;
    }

    /**
     * The device name, as given or as built ({@code cpu}, {@code cuda:N}); unique within one assigner.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * Whether this is a GPU or the CPU.
     *
     * @return the kind
     */
    public Kind kind() {
        return kind;
    }

    /**
     * Whether the kind is {@link Kind#GPU} (virtual GPUs included).
     *
     * @return true for a GPU
     */
    public boolean isGpu() {
        return kind == Kind.GPU;
    }

    /**
     * The CUDA ordinal, or -1 for the CPU and for virtual devices.
     *
     * @return the ordinal, or -1
     */
    public int index() {
        return index;
    }

    /**
     * Memory available for models, in MB, before the assigner's {@code maxMemRatio} is applied.
     *
     * @return the memory in MB (finite, >= 0)
     */
    public double memoryMb() {
        return memoryMb;
    }

    /**
     * The explicit compute power, or {@code null} when the assigner's default applies.
     *
     * @return the power set by {@link #withPower(double)}, or null
     */
    public Double power() {
        return power;
    }

    /**
     * The compute power used for placement: the explicit one, else 1 for a GPU and {@code cpuWeight} for the CPU.
     *
     * @param cpuWeight the power a CPU without explicit power gets
     * @return the relative compute power
     */
    public double effectivePower(double cpuWeight) {
        if (power != null) {
            return power;
        }
        return kind == Kind.CPU ? cpuWeight : 1.0;
    }

    /**
     * The DJL device this stands for: {@code ai.djl.Device.gpu(index)} for a CUDA GPU, otherwise (CPU, or virtual GPU
     * with index -1) the CPU.
     *
     * @return the DJL device
     */
    public ai.djl.Device toDjlDevice() {
        return kind == Kind.GPU && index >= 0 ? ai.djl.Device.gpu(index) : ai.djl.Device.cpu();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DeviceSpec d
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
