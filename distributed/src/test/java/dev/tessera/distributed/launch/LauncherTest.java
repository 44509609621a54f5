package dev.tessera.distributed.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.distributed.testing.LaunchProbe;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher's environment, output prefixes and exit behaviour, with real child JVMs. */
class LauncherTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int launch(String... args) {
        return new Launcher(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(args);
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void everyRankGetsItsEnvironmentAndItsOutputIsPrefixed() {
        assertEquals(0, launch("--nproc", "3", "--coordinator", "127.0.0.1:45678", LaunchProbe.class.getName(), "env"));
        for (int r = 0; r < 3; r++) {
            assertTrue(out().contains("[" + r + "] rank " + r + " of 3 named worker-" + r + " at 127.0.0.1:45678"),
                    out());
        }
    }

    @Test
    void multiNodeRanksAreOffsetByTheNodeRankAndTheUserClassPathComesLast(@TempDir Path userClasses) {
        assertEquals(0, launch("--nproc", "2", "--nnodes", "2", "--node-rank", "1", "--coordinator", "10.0.0.1:7800",
                "--classpath", userClasses.toString(), LaunchProbe.class.getName(), "env"));
        assertTrue(out().contains("[2] rank 2 of 4 named worker-2 at 10.0.0.1:7800 with class path ending in "
                + userClasses), out());
        assertTrue(out().contains("[3] rank 3 of 4"), out());
    }

    @Test
    void aMainClassMissingFromTheClassPathIsOneLineNamingTheClassAndTheOption(@TempDir Path userClasses) {
        List<ProcessHandle> before = new ArrayList<>(ProcessHandle.current().descendants().toList());
        assertEquals(2, launch("--nproc", "2", "com.example.NotThere"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("class com.example.NotThere is not on the ranks' "
                + "class path (Tessera's jars, and no --classpath was given); pass the directory or jar of your "
                + "classes with --classpath PATH before CLASS"), err.toString());
        assertEquals(2, launch("--nproc", "2", "-cp", userClasses.toString(), "com.example.NotThere"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("plus --classpath " + userClasses), err.toString());
        assertEquals(List.of(), ProcessHandle.current().descendants().filter(p -> !before.contains(p)).toList(),
                "no rank was started");
        assertFalse(out().contains("["));
    }

    @Test
    void oneRankFailingStopsTheOthersAndTheLauncherExitsWithItsCode() {
        List<ProcessHandle> before = new ArrayList<>(ProcessHandle.current().descendants().toList());
        long t0 = System.nanoTime();
        assertEquals(3, launch("--nproc", "3", LaunchProbe.class.getName(), "fail", "1", "3"));
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(60));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("[1] failing on purpose"), err.toString());
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("rank 1 exited with 3; stopping the others"));
        // the stopped ranks' codes vary (143 after SIGTERM, or 0: their read of stdin ends when it is closed)
        assertTrue(err.toString(StandardCharsets.UTF_8).matches("(?s).*exit codes: rank 0 \\d+[^,]*, rank 1 3, rank 2 "
                + "\\d+.*"), "every rank's code, so a cause that exited second is still seen: " + err);
        List<ProcessHandle> left = ProcessHandle.current().descendants().filter(p -> !before.contains(p)).toList();
        assertEquals(List.of(), left, "no child is left running");
    }

    @Test
    void theChildrenFormAWorldFromTheEnvironmentAndARankThatForgetsCloseStillExits() {
        // before the World's threads were daemons, rank 1 never exited and the launcher waited forever; interrupted
        // by the timeout, the launcher stops its children
        int code = assertTimeoutPreemptively(Duration.ofSeconds(120),
                () -> launch("--nproc", "2", LaunchProbe.class.getName(), "forget-close"));
        assertEquals(0, code, out() + err);
        assertTrue(out().contains("[0] members [worker-0, worker-1]"), out() + err);
        assertTrue(out().contains("[1] members [worker-0, worker-1]"), out() + err);
        assertTrue(out().contains("[0] members after the last rank's exit [worker-0]"), out() + err);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("the JVM is exiting with the World of member "
                + "'worker-1' open; closing it now"), err.toString());
    }

    @Test
    void theReadmeExampleRunsAsShown() {
        assertEquals(0, launch("--nproc", "2", com.example.pingpong.PingPong.class.getName()));
        assertTrue(out().contains("[0] hello worker-0, this is worker-1"), out() + err);
        assertTrue(out().contains("[1] hello worker-1, this is worker-0"), out() + err);
        String leader = out().contains("[0] leader: worker-0") ? "worker-0" : "worker-1";
        assertTrue(out().contains("[0] leader: " + leader) && out().contains("[1] leader: " + leader), out());
        assertTrue(out().contains("[0] peer's service: 3") && out().contains("[1] peer's service: 3"), out());
    }

    @Test
    void malformedCommandLinesExitWithTwoAndSayWhy() {
        assertEquals(2, launch("--nproc", "0", "X"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--nproc=0 (expected an integer >= 1)"));
        assertEquals(2, launch("--nproc", "2"));
        assertEquals(2, launch("--nproc", "2", "--nnodes", "2", "X"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--coordinator host:port is required"));
        assertFalse(out().contains("["));
    }

    @Test
    void helpPrintsTheUsageAndTheEnvironmentAndExitsWithZero() {
        assertEquals(0, launch("--help"));
        assertTrue(out().contains("usage: ./tessera launch --nproc N") && out().contains("TESSERA_RANK"), out());
        assertEquals(2, launch());
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("usage: ./tessera launch"));
    }
}
