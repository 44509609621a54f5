package dev.tessera.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Pools#processPool()} lives until its JVM exits, so it runs in a child JVM: one instance, close()
 * and terminate() ignored, and no worker left once that JVM has exited.
 */
@Tag("integration")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SharedProcessPoolTest {
    /** The child JVM: uses the shared process pool, writes what it saw, and exits normally. */
    public static final class ChildMain {
        public static void main(String[] args) throws Exception {
            WorkerPool first = Pools.processPool();
            WorkerPool second = Pools.processPool();
            long self = ProcessHandle.current().pid();
            List<Long> ran = first.map((Integer x) -> ProcessHandle.current().pid(), List.of(1, 2, 3, 4), 1);
            first.close();
            first.terminate();
            int after = second.apply((Integer x) -> x + 1, 1);
            List<String> workers = ProcessHandle.current().children().map(p -> String.valueOf(p.pid())).toList();
            String report = (first == second) + " " + first.isOpen() + " " + after + " " + first.workers() + " "
                    + ran.contains(self) + " " + String.join(",", workers);
            Files.writeString(Path.of(args[0] + ".tmp"), report);
            Files.move(Path.of(args[0] + ".tmp"), Path.of(args[0]));
        } // returning from main exits the JVM; a shutdown hook terminates the shared pool
    }

    /**
     * The child JVM of the refresh test: allow patterns added after the pool started replace it at the next
     * processPool(); refreshProcessPool() replaces it again and closes the old one.
     */
    public static final class RefreshChildMain {
        public static void main(String[] args) throws Exception {
            WorkerPool first = Pools.processPool();
            int one = first.apply((Integer x) -> x + 1, 0);
            Pools.optAllowPatterns("com.example.**");
            WorkerPool second = Pools.processPool();
            List<com.example.usercode.UserTasks.Point> points = second.map(com.example.usercode.UserTasks.diagonal(),
                    List.of(1, 2), 1);
            Set<ProcessHandle> secondWorkers = ProcessHandle.current().children().collect(Collectors.toSet());
            WorkerPool third = Pools.refreshProcessPool();
            boolean secondExited = secondWorkers.stream().allMatch(h -> h.onExit().thenApply(p -> true)
                    .completeOnTimeout(false, 20, TimeUnit.SECONDS).join());
            String rejected;
            try {
                second.apply((Integer x) -> x, 1);
                rejected = "accepted";
            } catch (IllegalStateException e) {
                rejected = "rejected";
            }
            List<com.example.usercode.UserTasks.Point> again = third.map(com.example.usercode.UserTasks.diagonal(),
                    List.of(3), 1);
            String report = one + " " + (first != second) + " " + points.equals(List.of(
                    new com.example.usercode.UserTasks.Point(1, 1), new com.example.usercode.UserTasks.Point(2, 2)))
                    + " " + (second != third) + " " + secondExited + " " + rejected + " "
                    + again.equals(List.of(new com.example.usercode.UserTasks.Point(3, 3))) + " " + (Pools.processPool() == third);
            Files.writeString(Path.of(args[0] + ".tmp"), report);
            Files.move(Path.of(args[0] + ".tmp"), Path.of(args[0]));
        }
    }

    @Test
    void allowPatternsAndRefreshReplaceTheSharedProcessPool(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("report");
        Process child = new ProcessBuilder(childCommand(RefreshChildMain.class, out)).inheritIO().start();
        try {
            assertTrue(child.waitFor(100, TimeUnit.SECONDS), "the child JVM exits once main returns");
            assertEquals(0, child.exitValue());
            assertEquals("1 true true true true rejected true true", Files.readString(out),
                    "first-result, replaced-for-patterns, user-code-ran, refreshed, old-workers-exited, old-pool-closed, "
                    + "new-pool-works, new-pool-is-current");
        } finally {
            List<ProcessHandle> left = child.descendants().toList();
            child.destroyForcibly();
            left.forEach(ProcessHandle::destroyForcibly);
        }
    }

    private static List<String> childCommand(Class<?> main, Path out) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> !a.startsWith("-agentlib:jdwp")).toList());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName(), out.toString()));
        return cmd;
    }

    @Test
    void theSharedProcessPoolIsASingletonThatIgnoresCloseAndEndsWithItsJvm(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("report");
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> !a.startsWith("-agentlib:jdwp")).toList());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), ChildMain.class.getName(), out.toString()));
        Process child = new ProcessBuilder(cmd).inheritIO().start();
        List<ProcessHandle> workers = new ArrayList<>();
        try {
            assertTrue(child.waitFor(45, TimeUnit.SECONDS), "the child JVM exits once main returns");
            assertEquals(0, child.exitValue());
            String[] report = Files.readString(out).split(" ");
            assertEquals("true", report[0], "processPool() returns one instance");
            assertEquals("true", report[1], "close() and terminate() are ignored");
            assertEquals("2", report[2], "still usable after close()");
            assertEquals(String.valueOf(Runtime.getRuntime().availableProcessors()), report[3], "one worker per CPU");
            assertEquals("false", report[4], "tasks ran in worker JVMs");
            assertEquals(Runtime.getRuntime().availableProcessors(), report[5].split(",").length,
                    "the child's worker JVMs while it ran: " + report[5]);
            Arrays.stream(report[5].split(",")).map(Long::parseLong).map(ProcessHandle::of)
                    .forEach(h -> h.ifPresent(workers::add));
            for (ProcessHandle w : workers) {
                boolean exited = w.onExit().thenApply(p -> true).completeOnTimeout(false, 10, TimeUnit.SECONDS).join();
                assertTrue(exited, "worker " + w.pid() + " outlived the JVM of the shared pool");
            }
        } finally {
            child.destroyForcibly();
            workers.forEach(ProcessHandle::destroyForcibly);
        }
    }
}
