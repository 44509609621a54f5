package dev.tessera.pool;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeoutException;

/**
 * Cross-process signals for tests: files that a task or the test creates, and that the other side
 * waits for. Works the same for thread and process workers. Paths are passed as strings because
 * {@link Path} is not serializable.
 */
public final class Signals {
    private Signals() {}

    public static void touch(String path) {
        try {
            Files.writeString(Path.of(path), "x", StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Blocks until the file exists; the bounded wait turns a broken test into a failure, not a hang. */
    public static void await(String path, long timeoutMillis) throws TimeoutException, InterruptedException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        Path p = Path.of(path);
        while (!Files.exists(p)) {
            if (System.nanoTime() > deadline) {
                throw new TimeoutException("signal " + path + " not raised within " + timeoutMillis + " ms");
            }
            Thread.sleep(1); // a polling interval, not a synchronisation: the file is the signal
        }
    }

    public static void appendLine(String path, String line) {
        try {
            Files.writeString(Path.of(path), line + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static java.util.List<String> lines(String path) {
        try {
            return Files.exists(Path.of(path)) ? Files.readAllLines(Path.of(path)) : java.util.List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
