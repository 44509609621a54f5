package dev.tessera.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Worker JVMs exit when their parent is killed with SIGKILL: no orphans, and no socket directory left behind. */
@Tag("integration")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OrphanWorkerTest {
    /** The parent JVM of the test: starts a pool, reports its workers' pids, then waits to be killed. */
    public static final class ParentMain {
        public static void main(String[] args) throws Exception {
            ProcessPool pool = ProcessPool.builder().optWorkers(2).build();
            List<Long> pids = pool.map((Integer x) -> {
                Signals.await(args[0] + ".go", 30_000); // keeps both workers busy so both report
                return ProcessHandle.current().pid();
            }, List.of(0, 1), 1);
            Files.writeString(Path.of(args[0] + ".tmp"), pids.get(0) + " " + pids.get(1));
            Files.move(Path.of(args[0] + ".tmp"), Path.of(args[0]));
            Thread.sleep(TimeUnit.MINUTES.toMillis(5)); // waiting to be killed; never a synchronisation
        }
    }

    @Test
    void workersExitWhenTheParentIsKilled(@TempDir Path tmp) throws Exception {
        String pidFile = tmp.resolve("pids").toString();
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> !a.startsWith("-agentlib:jdwp")).toList());
        cmd.add("-Djava.io.tmpdir=" + tmp); // the killed parent cannot remove its socket directory itself
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), ParentMain.class.getName(), pidFile));
        Process parent = new ProcessBuilder(cmd).inheritIO().start();
        List<ProcessHandle> workers = new ArrayList<>();
        try {
            Signals.touch(pidFile + ".go");
            Signals.await(pidFile, 45_000);
            for (String pid : Files.readString(Path.of(pidFile)).split(" ")) {
                workers.add(ProcessHandle.of(Long.parseLong(pid)).orElseThrow());
            }
            assertEquals(2, workers.size());
            parent.destroyForcibly().waitFor();
            for (ProcessHandle w : workers) {
                boolean exited = w.onExit().thenApply(p -> true).completeOnTimeout(false, 10, TimeUnit.SECONDS).join();
                assertTrue(exited, "worker " + w.pid() + " outlived its killed parent");
            }
            try (var left = Files.list(tmp)) {
                assertEquals(List.of(), left.map(f -> f.getFileName().toString())
                        .filter(n -> n.startsWith("tessera-pool-")).toList(), "socket directories left behind");
            }
        } finally {
            parent.destroyForcibly();
            workers.forEach(ProcessHandle::destroyForcibly);
        }
        ProcessLeakCheck.assertAtMost(0);
    }
}
