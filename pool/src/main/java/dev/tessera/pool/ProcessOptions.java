package dev.tessera.pool;

import dev.tessera.pool.internal.ProcessConfig;
import dev.tessera.pool.internal.protocol.TensorTransfer;
import dev.tessera.sharedmem.TensorCodec;
import dev.tessera.sharedmem.internal.AllowPatterns;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Options of the process pool builders on top of {@link PoolOptions}. Not thread-safe.
 *
 * @param <B> the concrete builder
 */
abstract class ProcessOptions<B extends ProcessOptions<B>> extends PoolOptions<B> {
    private static final String SHM_DIR_PROPERTY = "tessera.shm.dir";

    Boolean copyTensors;
    Long maxNbytes;
    final List<String> jvmOptions = new ArrayList<>();
    final Map<String, String> env = new LinkedHashMap<>();
    final List<String> allowPatterns = new ArrayList<>();
    Duration startTimeout = Duration.ofSeconds(60);
    int functionCacheCapacity = ProcessConfig.DEFAULT_FUNCTION_CACHE_CAPACITY;

    /**
     * Forces one way for every tensor (DJL {@code NDArray}, {@code INDArray}, {@code SharedTensor}), machin's
     * {@code is_copy_tensor}: true sends copies of their bytes (a worker's writes to a {@code SharedTensor} are
     * then not seen by the parent), false shared-memory stubs. Default: neither, tensors travel by size (see
     * {@link #optMaxNbytes}); the pool's {@code build()} rejects setting both options.
     */
    public B optCopyTensors(boolean copyTensors) {
        this.copyTensors = copyTensors;
        return self();
    }

    /**
     * joblib's {@code max_nbytes}: a DJL or ND4J array of at most {@code bytes} bytes travels inside the message,
     * a larger one as a shared-memory stub (one segment per array), in both directions; a {@code SharedTensor}
     * always travels as a stub, since it is in shared memory already. Default
     * {@link TensorCodec#DEFAULT_MAX_NBYTES} (1 MiB); 0 sends every non-empty array by stub.
     * Negative values throw {@link IllegalArgumentException}.
     */
    public B optMaxNbytes(long bytes) {
        this.maxNbytes = TensorCodec.Builder.checkMaxNbytes(bytes);
        return self();
    }

    /**
     * Extra JVM options for every worker, after the ones inherited from this JVM (e.g. {@code -Xmx2g}); default
     * none. Calls accumulate; an option not starting with {@code -} throws {@link IllegalArgumentException}.
     */
    public B optJvmOptions(String... options) {
        for (String o : options) {
            if (o == null || !o.startsWith("-")) {
                throw new IllegalArgumentException("jvm option '" + o + "' (expected to start with '-')");
            }
            jvmOptions.add(o);
        }
        return self();
    }

    /**
     * Sets an environment variable in every worker (a later call for the same name wins); setting a
     * thread-limit variable overrides the default cap.
     */
    public B optEnv(String name, String value) {
        env.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
        return self();
    }

    /**
     * Allows classes matching these patterns (e.g. {@code com.example.**}; the forms are those of
     * {@code AllowPatterns}: a class, {@code pkg.*}, {@code pkg.**} or a prefix {@code pkg.Name*}) in tasks,
     * arguments, contexts and results. Not needed for the task's own package tree or its arguments' classes,
     * which each task allows automatically; needed for classes from other packages nested inside them (the
     * elements of a {@code List} argument, a result from another library). Always allowed: the JDK's value,
     * collection and exception classes, serializable lambdas, {@code dev.tessera.**}. See the module README.
     */
    public B optAllowPatterns(String... patterns) {
        allowPatterns.addAll(AllowPatterns.check(patterns));
        return self();
    }

    /** How long a worker may take to start and run its initializer; default 60 s. */
    public B optStartTimeout(Duration timeout) {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("startTimeout=" + timeout + " (expected > 0)");
        }
        this.startTimeout = timeout;
        return self();
    }

    /** How many task functions each worker keeps before the least recently used is sent again; for tests. */
    B functionCacheCapacity(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("functionCacheCapacity=" + capacity + " (expected > 0)");
        }
        this.functionCacheCapacity = capacity;
        return self();
    }

    ProcessConfig config(int workers) {
        Path dir = Path.of(System.getProperty("java.io.tmpdir"));
        if (!Files.isDirectory(dir) || !Files.isWritable(dir)) {
            throw new UncheckedIOException(new IOException("java.io.tmpdir=" + dir + " is not a writable directory; "
                    + "worker JVMs need it for their sockets (set -Djava.io.tmpdir)"));
        }
        List<String> jvm = new ArrayList<>(ProcessConfig.inheritedJvmOptions());
        jvm.addAll(jvmOptions);
        // workers put the segments of their results where this JVM puts its own, also if it was set at run time
        String shmDir = System.getProperty(SHM_DIR_PROPERTY);
        if (shmDir != null && jvm.stream().noneMatch(o -> o.startsWith("-D" + SHM_DIR_PROPERTY + "="))) {
            jvm.add("-D" + SHM_DIR_PROPERTY + "=" + shmDir);
        }
        List<String> allow = List.copyOf(allowPatterns);
        TensorTransfer tensors = TensorTransfer.of(copyTensors, maxNbytes);
        return new ProcessConfig(ProcessConfig.javaBinaryOfThisJvm(), System.getProperty("java.class.path"), jvm,
                ProcessConfig.threadLimits(workers, env), dir, allow, tensors,
                startTimeout.toMillis(), functionCacheCapacity);
    }
}
