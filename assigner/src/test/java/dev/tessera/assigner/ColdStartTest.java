package dev.tessera.assigner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a cold start loads, seen from a child JVM's class-loading log ({@code -verbose:class}): without the NVIDIA
 * driver's folder no CUDA probe runs (no JNA, which DJL's probe loads cudart with), with it the probe runs; and a
 * placement small enough to enumerate never starts DJL's engine; and preloading the engine does start it.
 */
class ColdStartTest {
    private static final long TIMEOUT_SECONDS = 120;
    private static final String JNA = "com.sun.jna.Native ";
    private static final String ENGINE = "ai.djl.engine.Engine ";
    private static final String PT_ENGINE = "ai.djl.pytorch.engine.PtEngine ";

    @TempDir
    Path dir;

    @Test
    void noCudaProbeWithoutTheDriversFolder() throws Exception {
        assumeTrue(linux(), "the driver's folder is a Linux sign");
        String out = child("probe", dir.resolve("no-such-driver").toString());
        assertTrue(out.contains("hasGpu=false"), out);
        assertFalse(loaded(out, JNA), "JNA was loaded, so DJL probed for cudart:\n" + tail(out));
        assertFalse(loaded(out, ENGINE), "DJL's engine was loaded to answer hasGpu:\n" + tail(out));
    }

    /** The other side of the test above: with a driver folder present, DJL's probe runs and loads JNA. */
    @Test
    void theCudaProbeRunsWhenTheDriversFolderExists() throws Exception {
        String out = child("probe", Files.createDirectory(dir.resolve("driver")).toString());
        assertTrue(loaded(out, JNA), "no JNA: DJL's CUDA probe did not run\n" + tail(out));
    }

    @Test
    void aPlacementSmallEnoughToEnumerateNeverStartsDjlsEngine() throws Exception {
        String out = child("place");
        assertTrue(out.contains("gradient=skipped: 25 placements searched exhaustively (optimal)"), tail(out));
        assertFalse(loaded(out, ENGINE), "DJL's engine was loaded:\n" + tail(out));
    }

    /** {@link ModelAssigner#preloadEngine()} loads PyTorch's engine, also where there is no GPU to probe for. */
    @Test
    void preloadingLoadsPyTorchsEngine() throws Exception {
        String out = child("preload");
        assertTrue(out.contains("preloaded=true"), tail(out));
        assertTrue(loaded(out, PT_ENGINE), "PyTorch's engine was not loaded:\n" + tail(out));
    }

    private static boolean loaded(String log, String className) {
        return log.lines().anyMatch(l -> l.contains("] " + className) || l.startsWith(className));
    }

    private static boolean linux() {
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux");
    }

    private static String tail(String out) {
        List<String> lines = out.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    /** Runs {@link ColdStartChild} with the class-loading log on stdout; returns stdout and stderr together. */
    private String child(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-verbose:class", "-Dai.djl.offline=true", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), ColdStartChild.class.getName()));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "child", ".out");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                throw new AssertionError("the child JVM ran past " + TIMEOUT_SECONDS + " s: " + cmd);
            }
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        String text = Files.readString(out);
        assertEquals(0, p.exitValue(), tail(text));
        return text;
    }
}
