package dev.tessera.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.example.other.Foreign;
import com.example.usercode.UserTasks.Point;
import com.example.usercode.UserTasks.Tally;
import com.example.usercode.UserTasks;
import dev.tessera.pool.parallel.Parallel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.commons.math3.complex.Complex;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * User code from a package outside {@code dev.tessera} ({@code com.example.usercode}) runs on worker JVMs
 * without any option, while classes from unrelated packages stay rejected: the rejection fails only its
 * task, names the class and {@code optAllowPatterns}, and the worker lives on, silent.
 */
@Tag("integration")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProcessPoolUserCodeTest {
    ProcessPool pool;

    @BeforeAll
    void start() {
        pool = ProcessPool.builder().optWorkers(1).optName("usercode").build();
    }

    @AfterEach
    void oneWorkerStillThere() {
        assertEquals(42, pool.apply(UserTasks.doubler(), 21));
        ProcessLeakCheck.assertAtMost(1); // also: no pool of a test (CtxPool, Parallel) left a worker behind
    }

    @AfterAll
    void stop() {
        pool.close();
        ProcessLeakCheck.assertAtMost(0);
    }

    @Test
    void userLambdasMethodReferencesAndTaskObjectsRunWithoutOptions() {
        assertEquals(42, pool.apply(UserTasks.doubler(), 21));
        assertEquals(List.of(2, 4, 6), pool.map(UserTasks.doubler(), List.of(1, 2, 3)));
        assertEquals(new Point(3, 3), pool.apply(UserTasks.diagonal(), 3), "a user result class comes back");
        assertEquals(List.of(1, 4, 9), pool.map(new UserTasks.Square(), List.of(1, 2, 3)));
        assertEquals(8, pool.apply(UserTasks.plus(new Point(2, 3)), 3), "a captured user value");
        assertTrue(pool.apply(UserTasks.hello()).startsWith("hello from "));
        assertEquals(3, pool.<Point, Integer>apply(p -> p.x() + p.y(), new Point(1, 2)), "a user argument class");
        assertEquals(List.of(2, 5), pool.starmap(a -> ((Point) a[0]).x() + (int) a[1],
                List.of(new Object[] {new Point(1, 0), 1}, new Object[] {new Point(2, 0), 3})));
    }

    @Test
    void ctxPoolRunsUserContextsAndFunctions() {
        try (CtxPool<Tally> ctx = CtxPool.<Tally>builder().setWorkerContexts(List.of(new Tally("a", 10))).build()) {
            assertEquals("a:15", ctx.apply(UserTasks.tallied(), 5));
            assertEquals(List.of("a:11", "a:12"), ctx.map(UserTasks.tallied(), List.of(1, 2)));
        }
    }

    @Test
    void parallelWithTheProcessBackendRunsUserLambdas() {
        try (Parallel parallel = Parallel.builder().optNJobs(2).optBackend(Parallel.Backend.PROCESSES).build()) {
            assertEquals(List.of(2, 4, 6), parallel.map(UserTasks.doubler(), List.of(1, 2, 3)));
        }
    }

    @Test
    void classFromAnUnrelatedPackageIsRejectedNamingTheClassAndTheOption() throws Exception {
        Set<Long> before = workerPids();
        String printed = workerStderrDuring(() -> {
            TaskFailedException e = assertThrows(TaskFailedException.class,
                    () -> pool.apply(UserTasks.size(), List.of(new Foreign("nested in a list"))));
            assertTrue(e.getMessage().contains("com.example.other.Foreign"), e.getMessage());
            assertTrue(e.getMessage().contains("optAllowPatterns(\"com.example.other.**\")"), e.getMessage());
        });
        assertEquals(before, workerPids(), "the worker was neither killed nor replaced");
        assertTrue(!printed.contains("Exception") && !printed.contains("protocol error"), "worker printed: " + printed);
    }

    @Test
    void eachLineAWorkerWritesToStderrReachesTheParentPrefixedWithTheWorkersName() throws InterruptedException {
        String printed = workerStderrDuring(() -> pool.apply((String m) -> {
            System.err.println(m);
            System.err.println(m + " again");
            return 0;
        }, "a line from user code"));
        List<String> lines = printed.lines().toList(); // then the marker's line, cut off after its prefix
        assertEquals(3, lines.size(), printed);
        assertTrue(lines.get(0).matches("\\[usercode[^\\]]*\\] a line from user code"), printed);
        assertTrue(lines.get(1).matches("\\[usercode[^\\]]*\\] a line from user code again"), printed);
    }

    @Test
    void thirdPartyLibraryClassesAreRejectedAsArgumentsResultsAndCapturedValues() {
        Set<Long> before = workerPids();
        TaskFailedException arg = assertThrows(TaskFailedException.class,
                () -> pool.<List<Complex>, Integer>apply(List::size, List.of(new Complex(1, 2))));
        assertTrue(arg.getMessage().contains("org.apache.commons.math3.complex.Complex"), arg.getMessage());
        TaskFailedException result = assertThrows(TaskFailedException.class,
                () -> pool.<Integer, Object>apply(x -> List.of(new Complex(x, x)), 1));
        assertTrue(result.getMessage().contains("org.apache.commons.math3.complex.Complex")
                && result.getMessage().contains("optAllowPatterns"), result.getMessage());
        var captures = UserTasks.capturing(new Complex(1, 1));
        for (int i = 0; i < 3; i++) { // the same function again: rejected again, never "unknown function id"
            TaskFailedException fn = assertThrows(TaskFailedException.class, () -> pool.apply(captures, 1));
            assertTrue(fn.getMessage().contains("org.apache.commons.math3.complex.Complex"), fn.getMessage());
        }
        assertEquals(before, workerPids(), "the worker was neither killed nor replaced");
    }

    @Test
    void jdkGadgetClassesOutsideTheDefaultsAreRejected() throws Exception {
        var url = URI.create("http://example.com/").toURL(); // java.net.URL: the DNS look-up gadget of HashMap
        TaskFailedException e = assertThrows(TaskFailedException.class,
                () -> pool.<List<?>, Integer>apply(List::size, List.of(url)));
        assertTrue(e.getMessage().contains("java.net.URL") && e.getMessage().contains("optAllowPatterns(\"java.net.URL\")"),
                e.getMessage());
    }

    @Test
    void optAllowPatternsAdmitsAThirdPartyPackage() {
        try (ProcessPool allowing = ProcessPool.builder().optWorkers(1).optAllowPatterns("org.apache.commons.math3.**")
                .build()) {
            assertEquals(1, allowing.<List<Complex>, Integer>apply(List::size, List.of(new Complex(1, 2))));
            assertEquals(List.of(new Complex(2, 2)), allowing.<Integer, Object>apply(x -> List.of(new Complex(x, x)), 2));
        }
    }

    @Test
    void exceptionOfAnUnrelatedClassArrivesAsRemoteExceptionWithItsType() {
        TaskFailedException e = assertThrows(TaskFailedException.class, () -> pool.apply(() -> {
            throw new org.apache.commons.math3.exception.NotPositiveException(-1);
        }));
        RemoteException remote = assertInstanceOf(RemoteException.class, e.getCause());
        assertEquals("org.apache.commons.math3.exception.NotPositiveException", remote.remoteType());
    }

    private static Set<Long> workerPids() {
        return ProcessLeakCheck.liveWorkers().stream().map(ProcessHandle::pid).collect(Collectors.toSet());
    }

    /**
     * What the worker wrote to stderr while {@code action} ran: a marker task printed last, and awaited, bounds
     * the capture, since the worker's stderr reaches this JVM's {@code System.err} through a pipe.
     */
    private String workerStderrDuring(Runnable action) throws InterruptedException {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            action.run();
            String marker = "end-of-capture-" + System.nanoTime();
            pool.apply((String m) -> {
                System.err.println(m);
                return 0;
            }, marker);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!captured.toString(StandardCharsets.UTF_8).contains(marker) && System.nanoTime() < deadline) {
                Thread.sleep(1); // a polling interval; the marker is the signal
            }
            String out = captured.toString(StandardCharsets.UTF_8);
            assertTrue(out.contains(marker), "the marker never arrived: " + out);
            return out.substring(0, out.indexOf(marker));
        } finally {
            System.setErr(original);
        }
    }
}
