package dev.tessera.distributed.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A World member in a child JVM running {@link MemberMain}: commands go in on stdin, one line each, and answers
 * come back as lines. Every read is bounded by a timeout; closing kills the process (SIGKILL) if it still runs and
 * waits for it, so a failing test leaves nothing behind.
 */
public final class MemberJvm implements AutoCloseable {
    private static final String EOF = "\u0000EOF";
    private final Process process;
    private final PrintWriter in;
    private final Path stderr;
    private final BlockingQueue<String> lines = new ArrayBlockingQueue<>(10_000);
    private final String name;
    private final List<String> skipped = new ArrayList<>();

    private MemberJvm(String name, Process process, Path stderr) {
        this.name = name;
        this.process = process;
        this.stderr = stderr;
        this.in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        Thread reader = Thread.ofPlatform().daemon().name("member-out-" + name).start(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = out.readLine()) != null; ) {
                    lines.offer(line);
                }
            } catch (IOException ignored) {
                // the process died; EOF below says so
            }
            lines.offer(EOF);
        });
        reader.setUncaughtExceptionHandler((t, e) -> lines.offer(EOF));
    }

    /** Starts member {@code rank} of a World of {@code size} at {@code coordinator}, named {@code worker-RANK}. */
    public static MemberJvm start(int rank, int size, String coordinator, String... extraArgs) throws IOException {
        return start(rank, size, coordinator, false, extraArgs);
    }

    /**
     * As {@link #start(int, int, String, String...)}; {@code fullJit} gives the child the optimising compiler (for
     * timing), else it starts faster with C1 only.
     */
    public static MemberJvm start(int rank, int size, String coordinator, boolean fullJit, String... extraArgs)
            throws IOException {
        return start(MemberMain.class, rank, size, coordinator, fullJit, extraArgs);
    }

    /** As {@link #start(int, int, String, boolean, String...)} with another main class (same stdin/stdout use). */
    public static MemberJvm start(Class<?> main, int rank, int size, String coordinator, boolean fullJit,
            String... extraArgs) throws IOException {
        return start(main, rank, size, coordinator, fullJit, List.of(), extraArgs);
    }

    /** As {@link #start(Class, int, int, String, boolean, String...)} with extra JVM options ({@code -Dname=value}). */
    public static MemberJvm start(Class<?> main, int rank, int size, String coordinator, boolean fullJit,
            List<String> jvmArgs, String... extraArgs) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                fullJit ? "-XX:+TieredCompilation" : "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx256m",
                "-Djava.net.preferIPv4Stack=true", "-Dai.djl.offline=true", "--enable-native-access=ALL-UNNAMED", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"));
        cmd.addAll(jvmArgs);
        cmd.add(main.getName());
        cmd.addAll(List.of(extraArgs));
        Path stderr = Files.createTempFile("tessera-member-", ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(stderr.toFile());
        Map<String, String> env = pb.environment();
        env.put("TESSERA_RANK", Integer.toString(rank));
        env.put("TESSERA_WORLD_SIZE", Integer.toString(size));
        env.put("TESSERA_COORDINATOR", coordinator);
        env.put("TESSERA_NAME", "worker-" + rank);
        return new MemberJvm("worker-" + rank, pb.start(), stderr);
    }

    public String name() {
        return name;
    }

    public Process process() {
        return process;
    }

    public void send(String command) {
        in.println(command);
    }

    /**
     * The first line starting with {@code prefix} that no earlier expect took (commands may answer out of order), within
     * {@code seconds}. Not thread-safe: one test thread reads a member.
     */
    public String expect(String prefix, long seconds) throws InterruptedException {
        for (java.util.Iterator<String> it = skipped.iterator(); it.hasNext(); ) {
            String line = it.next();
            if (line.startsWith(prefix)) {
                it.remove();
                return line.substring(prefix.length()).strip();
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            String line = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (line == null) {
                throw new AssertionError(name + ": no line starting with '" + prefix + "' within " + seconds
                        + " s; stderr:\n" + stderrText());
            }
            if (line.equals(EOF)) {
                throw new AssertionError(name + " exited (" + exitCode() + ") before printing '" + prefix
                        + "'; stderr:\n" + stderrText());
            }
            if (line.startsWith(prefix)) {
                return line.substring(prefix.length()).strip();
            }
            skipped.add(line); // an answer to another command in flight: kept for its expect
        }
    }

    private String exitCode() {
        try {
            return process.waitFor(5, TimeUnit.SECONDS) ? Integer.toString(process.exitValue()) : "still running";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "?";
        }
    }

    /** SIGKILL, and waits until the process is gone. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new AssertionError(name + " survived SIGKILL for 30 s");
        }
    }

    /** Asks the member to close its World and exit; waits up to {@code seconds}. */
    public int exit(long seconds) throws InterruptedException {
        send("exit");
        in.close();
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            throw new AssertionError(name + " did not exit within " + seconds + " s; stderr:\n" + stderrText());
        }
        return process.exitValue();
    }

    public String stderrText() {
        try {
            return Files.readString(stderr);
        } catch (IOException e) {
            return "(stderr unreadable: " + e + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        in.close();
        if (process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
        try {
            Files.deleteIfExists(stderr);
        } catch (IOException ignored) {
            // a temp file; nothing else to do
        }
    }
}
