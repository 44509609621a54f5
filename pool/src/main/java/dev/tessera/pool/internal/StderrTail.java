package dev.tessera.pool.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.util.ArrayDeque;
import java.util.List;

/**
 * Copies a worker JVM's stderr to this JVM's {@code System.err}, line by line, each line prefixed with the
 * worker's name in brackets ({@code [pool-0] ...}: among many workers' lines, each says whose it is), and keeps
 * its last lines as written: a worker's last words say why it died ({@code Terminating due to
 * java.lang.OutOfMemoryError}, the fatal error banner of a native crash), which its exit code alone does not. One daemon thread per worker, which
 * ends at the end of the stream; thread-safe.
 */
final class StderrTail {
    private static final int KEEP = 64;

    private final ArrayDeque<String> lines = new ArrayDeque<>();
    private final Thread pump;
    private final String prefix;

    private StderrTail(InputStream in, String worker) {
        prefix = "[" + worker + "] ";
        pump = new Thread(() -> copy(in), worker + "-stderr");
        pump.setDaemon(true);
    }

    /** Starts copying {@code in}, the stderr of the worker named {@code worker}. */
    static StderrTail start(InputStream in, String worker) {
        StderrTail t = new StderrTail(in, worker);
        t.pump.start();
        return t;
    }

    private void copy(InputStream in) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in))) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                System.err.println(prefix + line);
                synchronized (lines) {
                    if (lines.size() == KEEP) {
                        lines.removeFirst();
                    }
                    lines.addLast(line);
                }
            }
        } catch (IOException e) {
            // the pipe broke with the process: what was read is all there is
        }
    }

    /** The last lines, after waiting up to {@code millis} for the stream to end (the worker has exited). */
    List<String> lastLines(long millis) {
        try {
            pump.join(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (lines) {
            return List.copyOf(lines);
        }
    }
}
