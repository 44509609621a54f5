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
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM running a test main ({@link ChildMain} by default) on the test classpath, talking over
 * stdin/stdout lines; one test thread uses it. The child's stdout is read on a thread of its own, so every wait
 * for a line is bounded ({@value #LINE_TIMEOUT_SECONDS} s). Closing it kills the process (SIGKILL) if it still
 * runs and waits for it, so a failing test leaves nothing behind. Other modules' tests use it through
 * sharedmem's test jar.
 */
public final class ChildJvm implements AutoCloseable {
    /** The longest a test waits for one line of a child: every cross-process wait is bounded. */
    public static final long LINE_TIMEOUT_SECONDS = 60;
    private static final String EOF = new String("end of output"); // compared by identity

    private final Process process;
    private final BufferedReader out;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final PrintWriter in;
    private final Path stderr;

    private ChildJvm(Process process, Path stderr) {
        this.process = process;
        this.stderr = stderr;
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        this.in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        Thread pump = new Thread(this::pumpLines, "child-" + process.pid() + "-stdout");
        pump.setDaemon(true);
        pump.start();
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

    /** Reads the child's stdout on its own thread, so that a test waits for a line with a timeout. */
    private void pumpLines() {
        try {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                lines.add(line);
            }
        } catch (IOException e) {
            // the pipe was closed by destroyForcibly() or close(): the output ends here
        } finally {
            lines.add(EOF);
        }
    }

    /** The next line the child prints; fails with the child's stderr if it exits first or stays silent. */
    public String readLine() throws IOException {
        return readLineOrNull(true);
    }

    /** The next line, or null once the child's output ended (it exited or was killed). */
    public String readLineOrNull() throws IOException {
        return readLineOrNull(false);
    }

    private String readLineOrNull(boolean required) throws IOException {
        String line;
        try {
            line = lines.poll(LINE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for child " + process.pid(), e);
        }
        if (line == null) {
            throw new AssertionError("child " + process.pid() + " printed nothing for " + LINE_TIMEOUT_SECONDS
                    + " s; stderr:\n" + stderrText());
        }
        if (line == EOF) {
            lines.add(EOF); // later reads see the end too
            line = null;
        }
        if (line == null && required) {
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

    /** Waits up to 60 s for the child to exit, then kills it; returns its exit status. */
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

    /**
     * SIGKILL sent with {@code kill -9} (not {@link Process#destroyForcibly()}, which also closes the pipes), then
     * wait until the kernel has reaped it; what it printed before dying can still be read.
     */
    public void kill9KeepingOutput() throws IOException {
        try {
            Process kill = new ProcessBuilder("kill", "-9", Long.toString(process.pid())).start();
            if (!kill.waitFor(30, TimeUnit.SECONDS) || !process.waitFor(30, TimeUnit.SECONDS)) {
                throw new AssertionError("child " + process.pid() + " did not die of kill -9 within 30 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
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
