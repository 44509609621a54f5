package dev.tessera.pool.internal;

import dev.tessera.pool.internal.protocol.TensorTransfer;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How worker JVMs of one pool are started: the parent's own java binary, class path and JVM options
 * (minus debugger agents), plus per-worker limits on native thread pools so that nJobs workers do not
 * each start one BLAS/OpenMP thread per CPU.
 *
 * @param javaBinary the java launcher of this JVM
 * @param classPath the parent's class path
 * @param jvmOptions options for every worker (inherited and extra)
 * @param env extra environment for every worker (thread limits and the caller's)
 * @param tempDir where each worker start makes its private socket directory, and where workers write their
 *     native crash reports ({@code hs_err}) unless the JVM options name an {@code -XX:ErrorFile}
 * @param allowPatterns serialization allow-list, passed to workers
 * @param tensors how tensors travel: by size (the default), or forced to copies or stubs
 * @param startTimeoutMillis how long a worker may take to start and run its initializer
 * @param functionCacheCapacity how many task functions each worker keeps ({@link FunctionIds})
 */
public record ProcessConfig(String javaBinary, String classPath, List<String> jvmOptions, Map<String, String> env,
        Path tempDir, List<String> allowPatterns, TensorTransfer tensors,
        long startTimeoutMillis, int functionCacheCapacity) {
    /** Default of {@code functionCacheCapacity}. */
    public static final int DEFAULT_FUNCTION_CACHE_CAPACITY = FunctionIds.DEFAULT_CAPACITY;

    /** Native thread pools we cap in workers; the caller's own setting always wins. */
    public static final List<String> THREAD_ENV =
            List.of("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS");
    /** The system property that sets PyTorch's intra-op thread count in DJL. */
    public static final String DJL_THREADS = "ai.djl.pytorch.num_threads";
    /** Prefix of the private directory a worker's socket lives in while the worker starts. */
    static final String SOCKET_DIR_PREFIX = "tessera-pool-";
    private static final String ERROR_FILE = "-XX:ErrorFile=";

    /** A new codec for one slot's messages in the parent, with the pool's allow-list and tensor mode. */
    TensorAwareCodec newCodec() {
        return Codecs.create(allowPatterns, tensors);
    }

    /**
     * Creates a private (0700) directory for one worker's socket, so no other user can connect first. The
     * slot removes it as soon as the worker connected: a parent killed later leaves nothing behind.
     */
    Path newSocketDir() throws IOException {
        return Files.createTempDirectory(tempDir, SOCKET_DIR_PREFIX,
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }

    /** The native crash report file ({@code hs_err}) of the worker with this pid. */
    Path errorFile(long pid) {
        String pattern = jvmOptions.stream().filter(o -> o.startsWith(ERROR_FILE)).reduce((a, b) -> b)
                .map(o -> o.substring(ERROR_FILE.length())).orElse(defaultErrorFile());
        return Path.of(pattern.replace("%p", Long.toString(pid)).replace("%%", "%"));
    }

    private String defaultErrorFile() {
        return tempDir.resolve("tessera-worker-hs_err_pid%p.log").toString();
    }

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
        cmd.add("-XX:+DisplayVMOutputToStderr"); // the JVM's last words (out of memory, fatal error) reach StderrTail
        if (jvmOptions.stream().noneMatch(o -> o.startsWith(ERROR_FILE))) {
            cmd.add(ERROR_FILE + defaultErrorFile());
        }
        cmd.addAll(scope.launchSettings(allowPatterns, tensors).jvmOptions());
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
