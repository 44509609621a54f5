package dev.tessera.assigner;

import ai.djl.engine.Engine;
import ai.djl.util.cuda.CudaUtils;
import dev.tessera.assigner.internal.CudaProbe;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Ways to get the device list: detection through DJL and the OS, or a fixed virtual set for machines without a
 * GPU. Stateless and thread-safe.
 */
public final class Devices {
    /** Memory of each GPU in {@link #virtualSet()}, in MB. */
    public static final double VIRTUAL_GPU_MB = 16_384;
    /** Memory of the CPU in {@link #virtualSet()}, in MB. */
    public static final double VIRTUAL_CPU_MB = 65_536;

    private static final double BYTES_PER_MB = 1024.0 * 1024.0;

    private Devices() {}

    /**
     * The machine's devices: each CUDA GPU DJL's engine sees, with its free memory from {@link CudaUtils}, then
     * the CPU with the memory the OS reports available ({@code MemAvailable} on Linux, else the JVM's free physical
     * memory). Memory is in MB; powers are left to the assigner's defaults. Loads DJL's engine on first use, except
     * on Linux without the NVIDIA driver ({@code /proc/driver/nvidia}), where there is no GPU to find and only the
     * CPU is returned, without loading DJL.
     *
     * @return an immutable list: the GPUs in ordinal order, then the CPU
     */
    public static List<DeviceSpec> detect() {
        return detect(CudaProbe.NVIDIA_DRIVER);
    }

    /** {@link #detect()} with the driver's folder given (tests pass one that does or does not exist). */
    static List<DeviceSpec> detect(Path driverDir) {
        List<DeviceSpec> out = new ArrayList<>();
        int gpus = CudaProbe.prepare(driverDir) ? Engine.getInstance().getGpuCount() : 0;
        for (int i = 0; i < gpus; i++) {
            out.add(DeviceSpec.gpu(i, freeGpuMb(i)));
        }
        out.add(DeviceSpec.cpu(availableCpuMb()));
        return List.copyOf(out);
    }

    /**
     * Whether DJL's engine sees at least one CUDA GPU. Loads DJL's engine on first use, except on Linux without the
     * NVIDIA driver ({@code /proc/driver/nvidia}): there the answer is false at once, DJL is not loaded, and DJL's own
     * CUDA probe (JNA, cudart, and its warning) is switched off for when the engine starts later.
     *
     * @return true when {@code Engine.getInstance().getGpuCount() > 0}
     */
    public static boolean hasGpu() {
        return hasGpu(CudaProbe.NVIDIA_DRIVER);
    }

    /** {@link #hasGpu()} with the driver's folder given (tests pass one that does or does not exist). */
    static boolean hasGpu(Path driverDir) {
        return CudaProbe.prepare(driverDir) && Engine.getInstance().getGpuCount() > 0;
    }

    /**
     * The documented virtual set used when a machine has no GPU: four 16 GB GPUs ({@code cuda:0..cuda:3}, power
     * 1) and a 64 GB CPU (power {@code cpuWeight}); see {@link #VIRTUAL_GPU_MB} and {@link #VIRTUAL_CPU_MB}.
     *
     * @return an immutable list of five devices, a new one on each call
     */
    public static List<DeviceSpec> virtualSet() {
        List<DeviceSpec> out = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            out.add(DeviceSpec.gpu(i, VIRTUAL_GPU_MB));
        }
        out.add(DeviceSpec.cpu(VIRTUAL_CPU_MB));
        return List.copyOf(out);
    }

    static double freeGpuMb(int index) {
        MemoryUsage usage = CudaUtils.getGpuMemory(ai.djl.Device.gpu(index));
        // DJL reports the card's total as max and the memory in use as committed.
        long free = usage.getMax() - usage.getCommitted();
        return Math.max(0, free) / BYTES_PER_MB;
    }

    /** Memory the OS reports available (MemAvailable on Linux), or the JVM's view of free physical memory. */
    static double availableCpuMb() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    String kb = line.replaceAll("[^0-9]", "");
                    return Long.parseLong(kb) / 1024.0;
                }
            }
        } catch (java.io.IOException | NumberFormatException e) {
            // not Linux or unreadable: fall back to the JVM's figure
        }
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        return os.getFreeMemorySize() / BYTES_PER_MB;
    }
}
