package dev.tessera.sharedmem.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM running {@link ChildMain} on the test classpath, talking over stdin/stdout lines. Closing it
 * kills the process (SIGKILL) if it still runs and waits for it, so a failing test leaves nothing behind.
 */
public final class ChildJvm implements AutoCloseable {
    private final Process process;
    private final BufferedReader out;
    private final PrintWriter in;
    private final Path stderr;

    private ChildJvm(Process process, Path stderr) {
        this.process = process;
        this.stderr = stderr;
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        this.in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
    }

    /** A child running {@link ChildMain} with {@code args}, its segments in {@code shmDir}. */
    public static ChildJvm start(Path shmDir, String... args) throws IOException {
        return start(ChildMain.class, shmDir, args);
    }

    /**
     * A child running {@code mainClass} (another module's test main, say) on this JVM's class path, with
     * {@code args}, its segments in {@code shmDir}; a crash leaves its hs_err log in {@code target/}.
     */
    public static ChildJvm start(Class<?> mainClass, Path shmDir, String... args) throws IOException {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                "-Dai.djl.offline=true", "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC", "-Xss4m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-XX:ErrorFile=target/hs_err_pid%p.log", "-Dtessera.shm.dir=" + shmDir, mainClass.getName()));
        cmd.addAll(List.of(args));
        Path stderr = Files.createTempFile("tessera-child-", ".err");
        Process p = new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
        return new ChildJvm(p, stderr);
    }

    /** The next line the child prints; fails with the child's stderr if it exits first. */
    public String readLine() throws IOException {
        String line = out.readLine();
        if (line == null) {
            throw new AssertionError("child exited (" + waitExit() + ") without output; stderr:\n" + stderrText());
        }
        return line;
    }

    /** Reads lines until one starts with {@code prefix} and returns the rest of it. */
    public String expect(String prefix) throws IOException {
        while (true) {
            String line = readLine();
            if (line.startsWith(prefix)) {
                return line.substring(prefix.length()).strip();
            }
            if (line.startsWith("ERROR")) {
                throw new AssertionError("child failed: " + line + "\n" + stderrText());
            }
        }
    }

    public void send(String line) {
        in.println(line);
    }

    public long pid() {
        return process.pid();
    }

    public int waitExit() {
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
            return process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** SIGKILL, then wait until the kernel has reaped it (so it is neither alive nor a zombie). */
    public void kill9() {
        process.destroyForcibly();
        waitExit();
    }

    public String stderrText() {
        try {
            return Files.readString(stderr);
        } catch (IOException e) {
            return "(no stderr: " + e + ")";
        }
    }

    @Override
    public void close() throws IOException {
        if (process.isAlive()) {
            kill9();
        }
        in.close();
        out.close();
        Files.deleteIfExists(stderr);
    }
}
