package dev.tessera.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.NotSerializableException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Worker deaths of every kind fail exactly the in-flight task, quickly, and the pool goes on. */
@Tag("integration")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProcessPoolCrashTest {
    private static final Duration CLEAR_ERROR_WITHIN = Duration.ofSeconds(2);

    @TempDir
    Path tmp;

    ProcessPool pool;

    @BeforeAll
    void start() {
        // a small heap so the out-of-memory test is quick; the pool is shared because it must survive every crash
        // no core dump after the native crash: it would only take time (the JVM then exits with 1, not SIGABRT)
        pool = ProcessPool.builder().optWorkers(2).optName("crashy").optJvmOptions("-Xmx96m", "-XX:-CreateCoredumpOnCrash")
                .build();
    }

    @AfterEach
    void poolStillWorksAndNothingLeaks() {
        assertEquals(5, pool.<Integer, Integer>apply(x -> x + 1, 4), "the pool works after the crash");
        ProcessLeakCheck.assertAtMost(pool.workers());
    }

    @AfterAll
    void stop() {
        pool.close();
        ProcessLeakCheck.assertAtMost(0);
    }

    /** Starts a task that records its pid, then blocks until {@code release} exists. */
    private AsyncResult<Long> blockingTask(String name) throws Exception {
        String pidFile = tmp.resolve(name + ".pid").toString();
        String release = tmp.resolve(name + ".release").toString();
        AsyncResult<Long> r = pool.applyAsync((String prefix) -> {
            Files.writeString(Path.of(prefix + ".tmp"), Long.toString(ProcessHandle.current().pid()));
            Files.move(Path.of(prefix + ".tmp"), Path.of(prefix + ".pid"));
            Signals.await(prefix + ".release", 30_000);
            return ProcessHandle.current().pid();
        }, tmp.resolve(name).toString());
        Signals.await(pidFile, 30_000);
        assertTrue(release.endsWith(".release"));
        return r;
    }

    private long pidOf(String name) throws Exception {
        return Long.parseLong(Files.readString(tmp.resolve(name + ".pid")));
    }

    @Test
    void killedWorkerFailsOnlyItsTaskPromptly() throws Exception {
        AsyncResult<Long> victim = blockingTask("victim");
        AsyncResult<Long> bystander = blockingTask("bystander");
        long pid = pidOf("victim");
        assertTrue(pid != pidOf("bystander"), "the two tasks run on different workers");
        long t0 = System.nanoTime();
        ProcessHandle.of(pid).orElseThrow().destroyForcibly(); // SIGKILL
        WorkerCrashedException e = assertThrows(WorkerCrashedException.class, () -> victim.get(CLEAR_ERROR_WITHIN));
        long detectedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(detectedMillis < 5000, "crash detected after " + detectedMillis + " ms (the task would block 30 s)");
        assertEquals(9, e.signal().orElse(-1), e.getMessage());
        assertTrue(e.getMessage().contains("killed by signal 9 (possibly the OOM killer"), e.getMessage());
        assertTrue(e.getMessage().contains("crashy-worker-") && e.getMessage().contains("task #0"), e.getMessage());
        assertTrue(e.worker().startsWith("crashy-worker-"));
        Signals.touch(tmp.resolve("bystander.release").toString());
        assertEquals(pidOf("bystander"), bystander.get(Duration.ofSeconds(10)), "the other worker's task is unaffected");
    }

    @Test
    void systemExitInTaskIsACrash() {
        AsyncResult<Object> r = pool.applyAsync(() -> {
            System.exit(42);
            return null;
        });
        WorkerCrashedException e = assertThrows(WorkerCrashedException.class, () -> r.get(CLEAR_ERROR_WITHIN));
        assertEquals(42, e.exitCode().orElse(-1), e.getMessage());
        assertTrue(e.signal().isEmpty());
    }

    @Test
    void outOfMemoryInTaskIsACrash() {
        AsyncResult<Object> r = pool.applyAsync(() -> {
            List<long[]> hog = new ArrayList<>();
            while (true) {
                hog.add(new long[1 << 20]);
            }
        });
        WorkerCrashedException e = assertThrows(WorkerCrashedException.class, () -> r.get(Duration.ofSeconds(20)));
        assertEquals(3, e.exitCode().orElse(-1), "ExitOnOutOfMemoryError exits with 3: " + e.getMessage());
        assertTrue(e.getMessage().contains("ran out of memory (java.lang.OutOfMemoryError: Java heap space"),
                e.getMessage());
        assertTrue(e.getMessage().contains("-Xmx"), "names the fix: " + e.getMessage());
    }

    @Test
    void nativeCrashNamesTheCrashReport() throws Exception {
        AsyncResult<Object> r = pool.applyAsync(() -> {
            Linker linker = Linker.nativeLinker();
            MethodHandle strlen = linker.downcallHandle(linker.defaultLookup().find("strlen").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
            try {
                return (long) strlen.invokeExact(MemorySegment.NULL); // SIGSEGV in native code
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        });
        WorkerCrashedException e = assertThrows(WorkerCrashedException.class, () -> r.get(Duration.ofSeconds(30)));
        String m = e.getMessage();
        assertTrue(m.contains("the worker JVM aborted after a native crash (SIGSEGV"), m);
        Matcher report = Pattern.compile("its crash report is (\\S+) while running").matcher(m);
        assertTrue(report.find(), m);
        Path hsErr = Path.of(report.group(1));
        try {
            assertTrue(Files.readString(hsErr).contains("SIGSEGV"), "the report exists and tells the signal");
        } finally {
            Files.deleteIfExists(hsErr);
        }
    }

    @Test
    void unencodableResultIsATaskErrorNotACrash() {
        Set<Long> workersBefore = workerPids();
        AsyncResult<Object> r = pool.applyAsync(() -> new Object());
        TaskFailedException e = assertThrows(TaskFailedException.class, () -> r.get(CLEAR_ERROR_WITHIN));
        assertInstanceOf(NotSerializableException.class, e.getCause());
        assertTrue(e.getMessage().contains("java.lang.Object"), e.getMessage());
        assertEquals(workersBefore, workerPids(), "no worker died or was replaced");
    }

    private static Set<Long> workerPids() {
        return ProcessLeakCheck.liveWorkers().stream().map(ProcessHandle::pid).collect(Collectors.toSet());
    }

    @Test
    void unencodableArgumentFailsInTheParent() {
        Object notSerializable = new Object();
        TaskFailedException e = assertThrows(TaskFailedException.class,
                () -> pool.apply((Object o) -> o.hashCode(), notSerializable));
        assertTrue(e.getMessage().contains("cannot be encoded"), e.getMessage());
    }

    @Test
    void exceptionThatCannotBeSerializedArrivesAsRemoteException() {
        TaskFailedException e = assertThrows(TaskFailedException.class, () -> pool.apply(() -> {
            throw new CarriesUnserializableState("deep failure");
        }));
        RemoteException remote = assertInstanceOf(RemoteException.class, e.getCause());
        assertEquals(CarriesUnserializableState.class.getName(), remote.remoteType());
        assertEquals(CarriesUnserializableState.class.getName(), e.remoteType());
        assertTrue(remote.getStackTrace().length > 0, "remote stack trace kept");
    }

    /** An exception with a field Java serialization cannot write. */
    static final class CarriesUnserializableState extends RuntimeException {
        private static final long serialVersionUID = 1L;
        @SuppressWarnings({"unused", "serial"})
        private final Object state = new Object();

        CarriesUnserializableState(String message) {
            super(message);
        }
    }
}
