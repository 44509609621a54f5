package dev.tessera.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.util.cuda.CudaUtils;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Builds a one-test module on the real root pom the way a CUDA runner builds Tessera ({@code mvn -Pgpu}), on this
 * machine, which has no GPU: the gpu profile must fail, naming the cause, where it used to skip and pass; the
 * default build must still skip the gpu test. Each case is one Maven run of a few seconds (no -am, one test class).
 */
class GpuProfileTest {
    private static final long MAVEN_TIMEOUT_S = 240;
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    @BeforeEach
    void onlyWithoutAGpu() throws IOException {
        // On a CUDA runner the profile would run the fixture's test and pass: nothing to show there.
        assumeTrue(CudaUtils.getGpuCount() == 0, "a CUDA device is visible; this test shows the no-GPU failure");
        copyFixture();
    }

    @Test
    void gpuProfileFailsLoudlyWhenDjlSeesNoGpu() throws Exception {
        Run run = maven("-Pgpu");
        assertNotEquals(0, run.exitCode, run.output);
        assertTrue(run.output.contains("tessera.gpu.required=true (set by the gpu profile"), run.output);
        assertTrue(run.output.contains("sees 0 CUDA devices"), run.output);
        assertTrue(run.output.contains("PYTORCH_LIBRARY_PATH"), run.output);
        assertTrue(run.output.contains("GpuOnlyTest"), run.output);
    }

    @Test
    void defaultBuildStillSkipsGpuTests() throws Exception {
        Run run = maven();
        assertEquals(0, run.exitCode, run.output);
        try (Stream<Path> reports = reports()) {
            assertEquals(List.of(), reports.toList(), "the default build ran a gpu-tagged test");
        }
    }

    private Stream<Path> reports() throws IOException {
        Path reports = dir.resolve("target/surefire-reports");
        return Files.isDirectory(reports)
                ? Files.list(reports).filter(p -> p.getFileName().toString().startsWith("TEST-"))
                : Stream.empty();
    }

    private void copyFixture() throws IOException {
        Path fixture = Path.of("src/test/resources/gpu-profile-fixture").toAbsolutePath();
        try (Stream<Path> files = Files.walk(fixture)) {
            for (Path from : files.filter(Files::isRegularFile).toList()) {
                Path to = dir.resolve(fixture.relativize(from).toString());
                Files.createDirectories(to.getParent());
                String text = Files.readString(from)
                        // Maven reads relativePath against the module's folder, even when it is absolute
                        .replace("@ROOT@", dir.toAbsolutePath().relativize(ROOT).toString())
                        .replace("@VERSION@", rootVersion());
                Files.writeString(to, text);
            }
        }
    }

    private static String rootVersion() throws IOException {
        Matcher m = Pattern.compile("<artifactId>tessera-parent</artifactId>\\s*<version>([^<]+)</version>")
                .matcher(Files.readString(ROOT.resolve("pom.xml")));
        assertTrue(m.find(), "no version after tessera-parent in " + ROOT.resolve("pom.xml"));
        return m.group(1);
    }

    /** Runs mvn test in the fixture copy; its own gpu-kit/junit comes from this checkout. */
    private Run maven(String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("mvn", "-B", "-q", "-ntp", "-Dstyle.color=never",
                "-Dtessera.gpu.supportDir=" + ROOT.resolve("gpu-kit/junit"), "test"));
        cmd.addAll(List.of(extra));
        Path log = dir.resolve("maven.log");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process p = pb.start();
        try {
            if (!p.waitFor(MAVEN_TIMEOUT_S, TimeUnit.SECONDS)) {
                throw new AssertionError("mvn " + String.join(" ", extra) + " ran past " + MAVEN_TIMEOUT_S
                        + " s in " + dir + ":\n" + Files.readString(log, StandardCharsets.UTF_8));
            }
            return new Run(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    private record Run(int exitCode, String output) {}
}
