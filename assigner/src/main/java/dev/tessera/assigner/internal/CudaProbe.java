package dev.tessera.assigner.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Stateless apart from a once-only flag, thread-safe, and holds no memory: decides whether probing for CUDA can find
 * anything, and when it cannot, keeps DJL from probing.
 *
 * <p>DJL probes on its own whenever its engine starts ({@code Platform.detectPlatform} asks {@code CudaUtils} for
 * the GPU count): {@code CudaUtils}' class initialiser loads JNA and {@code libcudart} through it, which on Linux runs
 * {@code ldconfig -p} in a child process, and logs a WARN ("CUDA driver version is insufficient") where a CUDA
 * runtime is installed but no driver. That costs a third of a second or more of a cold start and finds nothing on a
 * machine without the NVIDIA kernel driver. On Linux the driver shows itself as {@code /proc/driver/nvidia} (in
 * containers too, where the host's driver is what counts), and under WSL2 as {@code /dev/dxg}; off Linux there is no
 * such sign, so the probe always runs there.
 *
 * <p>To keep DJL from probing, {@link #prepare(Path)} initialises {@code CudaUtils} while DJL's own switch {@code
 * ai.djl.util.cuda.fork} is set, which makes the initialiser skip the library load; the switch is cleared at once, so
 * {@code CudaUtils} then answers 0 GPUs from its empty library handle, without a child JVM. A user who set that switch
 * keeps it untouched.
 */
public final class CudaProbe {
    /** Where the NVIDIA kernel driver shows itself on Linux. */
    public static final Path NVIDIA_DRIVER = Path.of("/proc/driver/nvidia");
    /** WSL2's GPU device: CUDA works there without {@code /proc/driver/nvidia}. */
    private static final Path WSL_GPU = Path.of("/dev/dxg");
    /** DJL's switch that makes {@code CudaUtils} ask a child JVM instead of loading cudart itself. */
    static final String DJL_FORK = "ai.djl.util.cuda.fork";
    private static final String CUDA_UTILS = "ai.djl.util.cuda.CudaUtils";

    private static boolean prepared;

    private CudaProbe() {}

    /**
     * Whether probing for CUDA can find a GPU: always off Linux; on Linux only when {@code driverDir} (normally
     * {@link #NVIDIA_DRIVER}) or WSL2's {@code /dev/dxg} exists.
     */
    public static boolean worthProbing(Path driverDir) {
        boolean linux = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux");
        return !linux || Files.exists(driverDir) || Files.exists(WSL_GPU);
    }

    /**
     * Call before anything starts DJL's engine. Returns {@link #worthProbing}; when that is false, also makes sure
     * DJL's {@code CudaUtils} never loads cudart in this JVM (a no-op when it was initialised already, or when DJL
     * is not on the class path).
     *
     * @param driverDir the driver's folder, {@link #NVIDIA_DRIVER} outside tests
     * @return whether a CUDA probe can find anything
     */
    public static synchronized boolean prepare(Path driverDir) {
        if (worthProbing(driverDir)) {
            return true;
        }
        if (!prepared && System.getProperty(DJL_FORK) == null) {
            System.setProperty(DJL_FORK, "true");
            try {
                Class.forName(CUDA_UTILS, true, CudaProbe.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                // DJL is not on the class path: nothing can probe
            } finally {
                System.clearProperty(DJL_FORK);
            }
        }
        prepared = true;
        return false;
    }
}
