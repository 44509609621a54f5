package dev.tessera.pool.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * Says why a worker JVM died, from its exit code, the last lines of its stderr and its native crash report.
 * Stateless.
 *
 * <table>
 *   <caption>What a crash message says</caption>
 *   <tr><th>evidence</th><th>message</th></tr>
 *   <tr><td>exit 3 and {@code Terminating due to java.lang.OutOfMemoryError} on stderr</td>
 *       <td>ran out of memory (heap, metaspace, ...), with the -Xmx advice</td></tr>
 *   <tr><td>the fatal error banner on stderr, or its {@code hs_err} file</td>
 *       <td>the worker JVM aborted after a native crash, the signal and where the {@code hs_err} file is</td></tr>
 *   <tr><td>signal 9 (exit 137)</td><td>killed by signal 9 (possibly the OOM killer)</td></tr>
 *   <tr><td>another signal</td><td>killed by signal n (its name)</td></tr>
 *   <tr><td>another exit code</td><td>exited with code n</td></tr>
 * </table>
 */
final class CrashReport {
    /** What {@code -XX:+ExitOnOutOfMemoryError} exits with. */
    static final int OUT_OF_MEMORY_EXIT = 3;
    private static final String OOM_BANNER = "Terminating due to java.lang.OutOfMemoryError";
    private static final String FATAL_BANNER = "A fatal error has been detected by the Java Runtime Environment";
    private static final String REPORT_SAVED = "An error report file with more information is saved as:";
    private static final Map<Integer, String> SIGNALS = Map.of(1, "SIGHUP", 2, "SIGINT", 3, "SIGQUIT", 6, "SIGABRT",
            9, "SIGKILL", 11, "SIGSEGV", 15, "SIGTERM");

    private CrashReport() {}

    /**
     * The reason, phrased to follow "worker w ".
     *
     * @param exitCode the exit code, or null if the process had not exited
     * @param stderr the last lines the worker wrote to stderr
     * @param errorFile where the worker's JVM writes its native crash report
     */
    static String reason(Integer exitCode, List<String> stderr, Path errorFile) {
        String oom = find(stderr, OOM_BANNER);
        if (oom != null && exitCode != null && exitCode == OUT_OF_MEMORY_EXIT) {
            return "ran out of memory (" + oom.substring(oom.indexOf("java.lang.")) + "; exit code " + exitCode
                    + "): give the workers a larger heap with optJvmOptions(\"-Xmx...\") or each task less data";
        }
        if (find(stderr, FATAL_BANNER) != null || Files.exists(errorFile)) {
            String report = reportFile(stderr, errorFile);
            return "died: the worker JVM aborted after a native crash (" + nativeSignal(stderr, Path.of(report))
                    + exit(exitCode) + "); its crash report is " + report;
        }
        if (exitCode != null && exitCode == 128 + 9) {
            return "was killed by signal 9 (possibly the OOM killer" + exit(exitCode) + ")";
        }
        if (exitCode != null && exitCode > 128 && exitCode < 128 + 65) {
            int signal = exitCode - 128;
            return "was killed by signal " + signal + " (" + SIGNALS.getOrDefault(signal, "see kill -l") + exit(exitCode) + ")";
        }
        return exitCode == null ? "died (exit status unknown)" : "exited with code " + exitCode;
    }

    private static String exit(Integer exitCode) {
        return exitCode == null ? "" : "; exit code " + exitCode;
    }

    /**
     * The signal line of the fatal error banner ({@code SIGSEGV (0xb) at pc=...}), without pid and tid, from
     * stderr or else from the head of the report (the JVM does not always print the banner).
     */
    private static String nativeSignal(List<String> stderr, Path report) {
        String fromStderr = signalLine(stderr);
        return fromStderr != null ? fromStderr : Objects.requireNonNullElse(signalLine(head(report)), "no signal reported");
    }

    private static List<String> head(Path report) {
        try (Stream<String> lines = Files.lines(report, StandardCharsets.ISO_8859_1)) {
            return lines.limit(20).toList();
        } catch (IOException | UncheckedIOException e) {
            return List.of();
        }
    }

    private static String signalLine(List<String> lines) {
        for (String line : lines) {
            String l = line.replaceFirst("^#\\s*", "");
            if (l.startsWith("SIG") || l.startsWith("EXCEPTION_")) {
                int end = l.indexOf(", pid=");
                return end > 0 ? l.substring(0, end) : l;
            }
        }
        return null;
    }

    /** The report file the banner names, or the configured one. */
    private static String reportFile(List<String> stderr, Path errorFile) {
        for (int i = 0; i + 1 < stderr.size(); i++) {
            if (stderr.get(i).contains(REPORT_SAVED)) {
                return stderr.get(i + 1).replaceFirst("^#\\s*", "");
            }
        }
        return errorFile + (Files.exists(errorFile) ? "" : " (not written)");
    }

    private static String find(List<String> lines, String needle) {
        for (String l : lines) {
            if (l.contains(needle)) {
                return l;
            }
        }
        return null;
    }
}
