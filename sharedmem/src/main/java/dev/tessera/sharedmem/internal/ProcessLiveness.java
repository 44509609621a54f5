package dev.tessera.sharedmem.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;

/**
 * Tells whether the process that wrote a (pid, start time) pair is still running. Stateless and thread-safe.
 *
 * <p>The start time guards against pid reuse: a pid whose current process started at another time (more
 * than {@link #START_TOLERANCE_MILLIS} apart) belongs to someone else, so the recorded process is dead. A
 * zombie (killed but not yet reaped by its parent) counts as dead: it can never touch memory again. A
 * start time of 0 means "unknown" and then only the pid is checked, which errs on the side of "alive".
 */
public final class ProcessLiveness {
    static final long START_TOLERANCE_MILLIS = 1_000;
    private static final long SELF_PID = ProcessHandle.current().pid();
    private static final long SELF_START_MILLIS = startMillis(ProcessHandle.current());

    private ProcessLiveness() {}

    public static int selfPid() {
        return Math.toIntExact(SELF_PID);
    }

    public static long selfStartMillis() {
        return SELF_START_MILLIS;
    }

    public static boolean isAlive(long pid, long recordedStartMillis) {
        if (pid <= 0) {
            return false;
        }
        if (pid == SELF_PID) {
            return recordedStartMillis == 0 || recordedStartMillis == SELF_START_MILLIS;
        }
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        if (handle.isEmpty() || !handle.get().isAlive() || isZombie(pid)) {
            return false;
        }
        if (recordedStartMillis == 0) {
            return true;
        }
        long actual = startMillis(handle.get());
        return actual == 0 || Math.abs(actual - recordedStartMillis) <= START_TOLERANCE_MILLIS;
    }

    /**
     * Whether process {@code pid} has certainly exited: no process has that pid, or it is a zombie. Unlike
     * {@link #isAlive}, a pid that another process now uses counts as alive: for callers that give up a dead
     * process's references (see {@code SegmentDescriptor.releaseDeadHolders}), where wrongly calling a process
     * dead is worse than keeping a segment a little longer.
     */
    public static boolean isCertainlyDead(long pid) {
        if (pid <= 0) {
            return false; // not a pid a slot can hold: leave it alone
        }
        if (pid == SELF_PID) {
            return false;
        }
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        return handle.isEmpty() || !handle.get().isAlive() || isZombie(pid);
    }

    private static long startMillis(ProcessHandle handle) {
        return handle.info().startInstant().map(Instant::toEpochMilli).orElse(0L);
    }

    /** Linux only: state 'Z' in /proc/PID/stat (the field after the parenthesised command name). */
    private static boolean isZombie(long pid) {
        Path stat = Path.of("/proc", Long.toString(pid), "stat");
        try {
            String s = Files.readString(stat);
            int close = s.lastIndexOf(')');
            return close > 0 && close + 2 < s.length() && s.charAt(close + 2) == 'Z';
        } catch (IOException | RuntimeException e) {
            return false; // no procfs (not Linux) or the process just went away: ProcessHandle decided already
        }
    }
}
