package dev.tessera.gputest;

import java.lang.reflect.InvocationTargetException;
import java.util.Set;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Turns "no CUDA device" into a failure for tests tagged {@code gpu} when {@code tessera.gpu.required=true}: the
 * {@code gpu} Maven profile and the GPU kit's {@code run-gpu-tests.sh} set it, so a CUDA runner whose DJL sees no GPU
 * fails loudly instead of skipping every test. Stateless apart from one cached answer; thread-safe.
 *
 * <p>It is compiled into a module's test classes only under {@code -Pgpu} (and into the kit) and registered through
 * JUnit's extension auto-detection ({@code META-INF/services}), so no test class has to name it. It runs before the
 * class's own {@code @BeforeAll} and {@code @BeforeEach} methods, that is before a test's
 * {@code assumeTrue(Devices.hasGpu())} could skip it. Without the property it does nothing, and the default build never
 * sees it (the default build excludes the {@code gpu} tag anyway).
 *
 * <p>DJL is reached by reflection because this one source is compiled into every module's tests under the profile,
 * and a module without DJL on its test class path must still compile.
 */
public final class GpuRequiredCheck implements BeforeAllCallback, BeforeEachCallback {
    /** The system property (or JUnit configuration parameter) that makes a missing GPU a failure. */
    public static final String REQUIRED = "tessera.gpu.required";

    private static final String TAG = "gpu";
    private static volatile String verdict; // null until first asked; "" when a GPU is visible

    @Override
    public void beforeAll(ExtensionContext context) {
        check(context.getTags(), context);
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        check(context.getTags(), context);
    }

    private static void check(Set<String> tags, ExtensionContext context) {
        if (!tags.contains(TAG) || !required(context)) {
            return;
        }
        String why = verdict();
        if (!why.isEmpty()) {
            throw new AssertionError(why);
        }
    }

    private static boolean required(ExtensionContext context) {
        return Boolean.parseBoolean(context.getConfigurationParameter(REQUIRED)
                .orElse(System.getProperty(REQUIRED, "false")));
    }

    private static String verdict() {
        String v = verdict;
        if (v == null) {
            v = probe();
            verdict = v;
        }
        return v;
    }

    /** "" when DJL's default engine reports a CUDA device; otherwise the failure message. */
    static String probe() {
        String seen;
        try {
            Class<?> engineClass = Class.forName("ai.djl.engine.Engine");
            Object engine = engineClass.getMethod("getInstance").invoke(null);
            int gpus = (Integer) engineClass.getMethod("getGpuCount").invoke(engine);
            if (gpus > 0) {
                return "";
            }
            seen = "DJL's " + engineClass.getMethod("getEngineName").invoke(engine) + " engine "
                    + engineClass.getMethod("getVersion").invoke(engine) + " sees 0 CUDA devices";
        } catch (ClassNotFoundException e) {
            seen = "DJL is not on this module's test class path, so no GPU can be used";
        } catch (InvocationTargetException e) {
            seen = "DJL's engine failed to load: " + e.getCause();
        } catch (ReflectiveOperationException e) {
            seen = "DJL's engine could not be asked for its GPU count: " + e;
        }
        return REQUIRED + "=true (set by the gpu profile, -Pgpu, and by the GPU kit) but " + seen
                + " (PYTORCH_LIBRARY_PATH=" + System.getenv("PYTORCH_LIBRARY_PATH") + ", PYTORCH_FLAVOR="
                + System.getenv("PYTORCH_FLAVOR") + ", PYTORCH_VERSION=" + System.getenv("PYTORCH_VERSION")
                + "). The gpu tests need an NVIDIA driver, a visible device (nvidia-smi) and a CUDA build of"
                + " libtorch with DJL's JNI for it: set PYTORCH_LIBRARY_PATH to that libtorch's lib directory and"
                + " PYTORCH_FLAVOR to its CUDA flavour (for example cu128), see README 'GPU runner'."
                + " On a machine without a GPU, build without -Pgpu: the gpu tests are then skipped.";
    }
}
