package dev.tessera.queue.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * Linux's {@code futex(2)} on a 32-bit word in shared memory, through libc's {@code syscall} (the JDK has no
 * binding). Stateless and thread-safe; it owns no memory (the caller's segment holds the word).
 *
 * <p>Shared, not {@code FUTEX_PRIVATE_FLAG}: the word lives in a {@code MAP_SHARED} segment that several
 * processes map at different addresses, and only a shared futex is keyed by the page's file and offset, so a wake
 * in one process reaches a waiter in another. Every argument travels as a 64-bit integer: {@code syscall} is
 * variadic and moves its arguments into the kernel's registers whole.
 *
 * <p>Available on Linux on x86-64 ({@code SYS_futex} 202) and AArch64 (98) when native access is allowed and a
 * probe call succeeds; {@code -Dtessera.queue.futex=false} turns it off. Where it is not available queues fall
 * back to polling ({@link Backoff}).
 */
@SuppressWarnings("restricted") // native access is this class's purpose; the launcher and tests enable it
public final class Futex {
    /** The system property that turns the futex off when set to {@code false}. */
    public static final String PROPERTY = "tessera.queue.futex";
    private static final int FUTEX_WAIT = 0;
    private static final int FUTEX_WAKE = 1;
    private static final MethodHandle SYSCALL;
    private static final long SYS_FUTEX;
    private static final String UNAVAILABLE_BECAUSE;

    static {
        MethodHandle handle = null;
        long number = switch (System.getProperty("os.arch", "")) {
            case "amd64", "x86_64" -> 202;
            case "aarch64" -> 98;
            default -> -1;
        };
        String why = null;
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux") || number < 0) {
            why = "no futex on " + System.getProperty("os.name") + "/" + System.getProperty("os.arch");
        } else if ("false".equalsIgnoreCase(System.getProperty(PROPERTY, "true"))) {
            why = "-D" + PROPERTY + "=false";
        } else {
            try {
                handle = link();
                why = probe(handle, number);
            } catch (RuntimeException | Error e) { // native access denied, or no syscall symbol
                why = "cannot call syscall(2): " + e;
            }
        }
        SYSCALL = why == null ? handle : null;
        SYS_FUTEX = number;
        UNAVAILABLE_BECAUSE = why;
    }

    private Futex() {}

    /** Whether queues in this JVM wait on the futex (else they poll). */
    public static boolean isAvailable() {
        return SYSCALL != null;
    }

    /** Why the futex is not used in this JVM, or null if it is. */
    public static String unavailableBecause() {
        return UNAVAILABLE_BECAUSE;
    }

    private static MethodHandle link() {
        Linker linker = Linker.nativeLinker();
        return linker.downcallHandle(linker.defaultLookup().findOrThrow("syscall"),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG),
                Linker.Option.firstVariadicArg(1));
    }

    /** A wake on a private word must return 0 (nobody woken); null if it did, else why not. */
    private static String probe(MethodHandle handle, long number) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment word = arena.allocate(ValueLayout.JAVA_INT);
            long rc = (long) handle.invokeExact(number, word, (long) FUTEX_WAKE, 1L, MemorySegment.NULL, 0L, 0L);
            return rc == 0 ? null : "futex(FUTEX_WAKE) probe returned " + rc;
        } catch (Throwable t) {
            return "futex(FUTEX_WAKE) probe failed: " + t;
        }
    }

    /**
     * Sleeps while the word still holds {@code expected}, at most {@code timeoutNanos}, or until a
     * {@link #wake}. Returns early, without telling why, on a wake, a changed word, a timeout or a signal: the
     * caller re-checks its condition in every case.
     *
     * @param word the 4-byte-aligned word, in memory every waker maps
     * @param expected the value read before deciding to sleep
     * @param timeoutNanos positive
     * @return 0 if woken, -1 otherwise (changed word, timeout, signal)
     */
    public static long await(MemorySegment word, int expected, long timeoutNanos) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment timespec = arena.allocate(ValueLayout.JAVA_LONG, 2);
            timespec.setAtIndex(ValueLayout.JAVA_LONG, 0, timeoutNanos / 1_000_000_000L);
            timespec.setAtIndex(ValueLayout.JAVA_LONG, 1, timeoutNanos % 1_000_000_000L);
            return (long) requireSyscall().invokeExact(SYS_FUTEX, word, (long) FUTEX_WAIT,
                    expected & 0xFFFF_FFFFL, timespec, 0L, 0L);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("futex(FUTEX_WAIT) downcall failed", t);
        }
    }

    /**
     * Wakes up to {@code count} processes or threads sleeping in {@link #await} on {@code word}.
     *
     * @return how many were woken
     */
    public static long wake(MemorySegment word, int count) {
        try {
            return (long) requireSyscall().invokeExact(SYS_FUTEX, word, (long) FUTEX_WAKE, (long) count,
                    MemorySegment.NULL, 0L, 0L);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("futex(FUTEX_WAKE) downcall failed", t);
        }
    }

    private static MethodHandle requireSyscall() {
        if (SYSCALL == null) {
            throw new UnsupportedOperationException("futex unavailable: " + UNAVAILABLE_BECAUSE);
        }
        return SYSCALL;
    }
}
