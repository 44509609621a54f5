package dev.tessera.pool.internal;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * How worker JVMs of one pool are started: the parent's own java binary, class path and JVM options
 * (minus debugger agents), plus per-worker limits on native thread pools so that nJobs workers do not
 * each start one BLAS/OpenMP thread per CPU.
 *
 * @param javaBinary the java launcher of this JVM
 * @param classPath the parent's class path
 * @param jvmOptions options for every worker (inherited and extra)
 * @param env extra environment for every worker (thread limits and the caller's)
 * @param socketDir private (0700) directory for the workers' sockets
 * @param codec encoder of payloads in the parent
 * @param allowPatterns serialization allow-list, passed to workers
 * @param copyTensors whether tensors travel as copies instead of stubs
 * @param startTimeoutMillis how long a worker may take to start and run its initializer
 */
public record ProcessConfig(String javaBinary, String classPath, List<String> jvmOptions, Map<String, String> env,
        Path socketDir, Supplier<TensorAwareCodec> codec, List<String> allowPatterns, boolean copyTensors,
        long startTimeoutMillis) {
    /** Native thread pools we cap in workers; the caller's own setting always wins. */
    static final List<String> THREAD_ENV = List.of("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS");
    static final String DJL_THREADS = "ai.djl.pytorch.num_threads";

    /** The parent's JVM options that make sense in a worker. */
    public static List<String> inheritedJvmOptions() {
        List<String> out = new ArrayList<>();
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            boolean debugger = a.startsWith("-agentlib:jdwp") || a.startsWith("-Xrunjdwp") || a.equals("-Xdebug");
            boolean launcherOnly = a.startsWith("-Djava.class.path=") || a.startsWith("-Dsun.java.command")
                    || a.startsWith("-XX:Flags=") || a.startsWith("-XX:VMOptionsFile=");
            if (!debugger && !launcherOnly) {
                out.add(a);
            }
        }
        return out;
    }

    public static String javaBinaryOfThisJvm() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /**
     * Thread-limit environment for a worker of a pool with {@code workers} workers: max(cpus / workers, 1),
     * where cpus is this JVM's own budget (all CPUs in the parent, its share inside a worker), the same
     * value the worker's {@code -Dai.djl.pytorch.num_threads} gets.
     */
    public static Map<String, String> threadLimits(int workers, Map<String, String> callerEnv) {
        String limit = String.valueOf(Math.max(WorkerScope.current().cpuBudget() / Math.max(workers, 1), 1));
        Map<String, String> env = new LinkedHashMap<>();
        for (String k : THREAD_ENV) {
            if (System.getenv(k) == null && !callerEnv.containsKey(k)) {
                env.put(k, limit);
            }
        }
        env.putAll(callerEnv);
        return env;
    }

    /** The worker's command line. */
    List<String> command(WorkerScope scope, Path socket) {
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBinary);
        cmd.addAll(jvmOptions);
        cmd.add("-XX:+ExitOnOutOfMemoryError");
        cmd.add("-D" + WorkerScope.DEPTH_PROPERTY + "=" + scope.depth());
        cmd.add("-D" + WorkerScope.CPUS_PROPERTY + "=" + scope.cpuBudget());
        cmd.add("-Dtessera.pool.worker=" + scope.name());
        cmd.add("-Dtessera.pool.slot=" + scope.slot());
        cmd.add("-Dtessera.pool.allow=" + String.join(",", allowPatterns));
        cmd.add("-Dtessera.pool.copyTensors=" + copyTensors);
        if (jvmOptions.stream().noneMatch(o -> o.startsWith("-D" + DJL_THREADS + "="))) {
            cmd.add("-D" + DJL_THREADS + "=" + scope.cpuBudget());
        }
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.add(WorkerMain.class.getName());
        cmd.add(socket.toString());
        return cmd;
    }
}
