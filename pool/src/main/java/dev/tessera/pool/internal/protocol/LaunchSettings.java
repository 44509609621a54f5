package dev.tessera.pool.internal.protocol;

import java.util.Arrays;
import java.util.List;

/**
 * What a worker JVM needs before it can read its first message, carried on its command line as system
 * properties. The one place that names them: the parent writes them with {@link #jvmOptions()} and the
 * worker reads them with {@link #ofThisJvm()}. Immutable and thread-safe.
 *
 * @param workerName the worker's name ({@code "main"} outside any worker)
 * @param slot the worker's slot in its pool, -1 outside any worker
 * @param depth nesting depth: 0 in a parent, 1 in a worker, 2 in a worker's worker...
 * @param cpuBudget CPUs nested parallelism may use in the worker
 * @param allowPatterns the pool's {@code optAllowPatterns}, on top of the defaults
 * @param tensors how tensors travel (by size, or forced to copies or stubs)
 */
public record LaunchSettings(String workerName, int slot, int depth, int cpuBudget, List<String> allowPatterns,
        TensorTransfer tensors) {
    /** Environment variable carrying the pool's random token (not on the command line, which others can read). */
    public static final String TOKEN_ENV = "TESSERA_POOL_TOKEN";
    static final String WORKER_NAME = "tessera.pool.worker";
    static final String SLOT = "tessera.pool.slot";
    static final String DEPTH = "tessera.pool.depth";
    static final String CPUS = "tessera.pool.cpus";
    static final String ALLOW = "tessera.pool.allow";
    static final String TENSORS = "tessera.pool.tensors";

    public LaunchSettings {
        allowPatterns = List.copyOf(allowPatterns);
    }

    /** The {@code -D} options that hand these settings to a worker JVM. */
    public List<String> jvmOptions() {
        return List.of(define(DEPTH, depth), define(CPUS, cpuBudget), define(WORKER_NAME, workerName),
                define(SLOT, slot), define(ALLOW, String.join(",", allowPatterns)), define(TENSORS, tensors));
    }

    private static String define(String property, Object value) {
        return "-D" + property + "=" + value;
    }

    /**
     * The settings this JVM was started with; outside a worker (no {@link #DEPTH} property) those of a parent:
     * depth 0, named {@code main}, slot -1, every CPU of the machine, no extra patterns, tensors by size with the
     * default threshold.
     */
    public static LaunchSettings ofThisJvm() {
        int depth = Integer.getInteger(DEPTH, 0);
        String allow = System.getProperty(ALLOW, "");
        return new LaunchSettings(depth == 0 ? "main" : System.getProperty(WORKER_NAME, "worker"),
                Integer.getInteger(SLOT, -1), depth, Integer.getInteger(CPUS, Runtime.getRuntime().availableProcessors()),
                allow.isEmpty() ? List.of() : Arrays.asList(allow.split(",")),
                TensorTransfer.parse(System.getProperty(TENSORS, TensorTransfer.DEFAULT.toString())));
    }
}
