package dev.tessera.tools.assign;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the CLI ({@link AssignCli#main}) in a child JVM on the test class path, as the launcher would, so that what
 * reaches its stdout and stderr (log lines, their order) is what a user sees. The child's output goes to files
 * (no pipe to drain); a child past its timeout is killed, so a failing test leaves no process behind.
 */
final class CliProcess {
    private static final long TIMEOUT_SECONDS = 240;

    /** Exit code and output; with {@code merged}, stderr went into {@code out} and {@code err} is empty. */
    record Result(int code, String out, String err) {}

    private CliProcess() {}

    static Result run(Path dir, boolean merged, List<String> jvmFlags, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Dai.djl.offline=true");
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-XX:ErrorFile=" + Path.of("target", "hs_err_cli_%p.log").toAbsolutePath());
        cmd.addAll(jvmFlags);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(AssignCli.class.getName());
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "cli", ".out");
        Path err = Files.createTempFile(dir, "cli", ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile());
        if (merged) {
            pb.redirectErrorStream(true);
        } else {
            pb.redirectError(err.toFile());
        }
        Process p = pb.start();
        try {
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                throw new AssertionError("the CLI ran past " + TIMEOUT_SECONDS + " s: " + cmd);
            }
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }
}
