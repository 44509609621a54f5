package dev.tessera.distributed.internal.collective;

import dev.tessera.distributed.GroupTimeoutException;
import java.time.Duration;

/**
 * The end of one operation's time, and what the operation is, for messages. Immutable.
 *
 * @param endNanos {@link System#nanoTime()} at which it expires
 * @param timeout the timeout it was made from
 * @param what the operation, naming the group
 */
public record Deadline(long endNanos, Duration timeout, String what) {
    /** A deadline {@code timeout} from now. */
    public static Deadline in(Duration timeout, String what) {
        return new Deadline(System.nanoTime() + timeout.toNanos(), timeout, what);
    }

    /** Nanoseconds left, at most 0 once expired. */
    public long leftNanos() {
        return Math.max(0, endNanos - System.nanoTime());
    }

    /**
     * Throws once expired.
     *
     * @throws GroupTimeoutException naming the operation
     */
    public void check() {
        if (System.nanoTime() - endNanos >= 0) {
            throw new GroupTimeoutException(what, timeout);
        }
    }
}
