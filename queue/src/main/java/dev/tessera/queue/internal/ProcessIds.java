package dev.tessera.queue.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;

/**
 * Process identities as the queue's process table stores them, and whether such a process still runs.
 * Stateless and thread-safe.
 *
 * <p>An identity is one long, {@code startMillis << 22 | pid} (Linux pids stay below 2^22), so a process
 * claims a table slot with a single CAS. The start time guards against pid reuse: a pid whose current process
 * started more than {@link #START_TOLERANCE_MILLIS} away from the recorded time belongs to someone else. A
 * zombie (killed, not yet waited for by its parent) counts as dead: it can never touch memory again. This is
 * the same rule as sharedmem's internal liveness check, which is not part of its public API.
 */
public final class ProcessIds {
    static final long START_TOLERANCE_MILLIS = 1_000;
    static final int PID_BITS = 22;
    static final long PID_MASK = (1L << PID_BITS) - 1;
    private static final ProcessHandle SELF = ProcessHandle.current();
    private static final long SELF_ID = identity(SELF.pid(), startMillis(SELF));

    private ProcessIds() {}

    /** This process's identity. */
    public static long self() {
        return SELF_ID;
    }

    /** The identity of a process with this pid and start time; pids of 2^22 or more are refused. */
    static long identity(long pid, long startMillis) {
        if (pid <= 0 || pid > PID_MASK) {
            throw new IllegalStateException("pid " + pid + " does not fit the queue's process table (expected "
                    + "0 < pid < 2^22, the Linux limit)");
        }
        return (startMillis << PID_BITS) | pid;
    }

    /** The pid part of an identity. */
    public static long pid(long identity) {
        return identity & PID_MASK;
    }

    /** The start-time part of an identity, in epoch milliseconds. */
    static long startMillis(long identity) {
        return identity >>> PID_BITS;
    }

    /** Whether the process that {@code identity} names still runs; 0 (a free table slot) is never alive. */
    public static boolean isAlive(long identity) {
        if (identity == 0) {
            return false;
        }
        if (identity == SELF_ID) {
            return true;
        }
        long pid = pid(identity);
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        if (handle.isEmpty() || !handle.get().isAlive() || isZombie(pid)) {
            return false;
        }
        long recorded = startMillis(identity);
        long actual = startMillis(handle.get());
        return recorded == 0 || actual == 0 || Math.abs(actual - recorded) <= START_TOLERANCE_MILLIS;
    }

    private static long startMillis(ProcessHandle handle) {
        return handle.info().startInstant().map(Instant::toEpochMilli).orElse(0L);
    }

    /** Linux only: state 'Z' in /proc/PID/stat (the field after the parenthesised command name). */
    private static boolean isZombie(long pid) {
        try {
            String s = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            int close = s.lastIndexOf(')');
            return close > 0 && close + 2 < s.length() && s.charAt(close + 2) == 'Z';
        } catch (IOException | RuntimeException e) {
            return false; // no procfs, or the process just went away: ProcessHandle decided already
        }
    }
}
