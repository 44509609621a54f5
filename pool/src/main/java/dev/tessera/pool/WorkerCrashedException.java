package dev.tessera.pool;

import java.util.OptionalInt;

/**
 * A worker died (killed, {@code System.exit}, out of memory, native crash) while it ran a task.
 * Immutable. Only the tasks that were in flight on that worker fail; the pool has already started a
 * replacement, so the caller can resubmit them. The message says why the worker died as far as the pool
 * can tell: "ran out of memory", "the worker JVM aborted after a native crash" with the path of its
 * {@code hs_err} report, "killed by signal 9 (possibly the OOM killer)", or its exit code.
 */
public final class WorkerCrashedException extends PoolException {
    private static final long serialVersionUID = 1L;
    /** Name of the worker that died. */
    private final String worker;
    /** Its exit code, or null if unknown. */
    private final Integer exitCode;
    /** Description of the task (or chunk) that was running. */
    private final String task;

    /**
     * A crash described by its exit code alone ("died (exit code 137, killed by signal 9)").
     *
     * @param worker the worker's name
     * @param exitCode its exit code, or null if unknown
     * @param task the task (or chunk) that was running
     * @param detail how the pool noticed (the channel error), or null
     */
    public WorkerCrashedException(String worker, Integer exitCode, String task, String detail) {
        this(worker, exitCode, "died " + describeExit(exitCode), task, detail);
    }

    /**
     * A crash whose reason is known.
     *
     * @param worker the worker's name
     * @param exitCode its exit code, or null if unknown
     * @param reason why it died, phrased to follow "worker w " ("ran out of memory (...)")
     * @param task the task (or chunk) that was running
     * @param detail how the pool noticed (the channel error), or null
     */
    public WorkerCrashedException(String worker, Integer exitCode, String reason, String task, String detail) {
        super("worker " + worker + " " + reason + " while running " + task
                + (detail == null ? "" : " (" + detail + ")")
                + "; the pool replaced the worker, resubmit the task if it is safe to run again");
        this.worker = worker;
        this.exitCode = exitCode;
        this.task = task;
    }

    private static String describeExit(Integer code) {
        if (code == null) {
            return "(exit status unknown)";
        }
        if (code > 128 && code < 128 + 65) {
            return "(exit code " + code + ", killed by signal " + (code - 128) + ")";
        }
        return "(exit code " + code + ")";
    }

    /** Name of the worker that died. */
    public String worker() {
        return worker;
    }

    /** Its exit code, if the process had exited when the crash was reported. */
    public OptionalInt exitCode() {
        return exitCode == null ? OptionalInt.empty() : OptionalInt.of(exitCode);
    }

    /** The signal that killed it (exit code 128 + n on Linux), if any. */
    public OptionalInt signal() {
        return exitCode != null && exitCode > 128 && exitCode < 128 + 65 ? OptionalInt.of(exitCode - 128) : OptionalInt.empty();
    }

    /** Description of the task (or chunk of tasks) that was running. */
    public String task() {
        return task;
    }
}
