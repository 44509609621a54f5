package dev.tessera.queue.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The futex binding itself, on a word of private memory, between threads of this JVM. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FutexTest {
    private static final boolean TURNED_OFF = "false".equalsIgnoreCase(System.getProperty(Futex.PROPERTY, "true"));

    @Test
    void isUsedOnLinuxUnlessTurnedOff() {
        boolean linux = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")
                && System.getProperty("os.arch", "").matches("amd64|x86_64|aarch64");
        assumeTrue(linux, "no futex on this platform");
        if (TURNED_OFF) {
            assertFalse(Futex.isAvailable());
            assertTrue(Futex.unavailableBecause().contains(Futex.PROPERTY), Futex.unavailableBecause());
        } else {
            assertTrue(Futex.isAvailable(), "a silent fallback to polling: " + Futex.unavailableBecause());
        }
    }

    @Test
    void aWaitOnAChangedWordReturnsAtOnceAndAWaitOnAnUnchangedOneTimesOut() {
        assumeTrue(Futex.isAvailable());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment word = arena.allocate(ValueLayout.JAVA_INT);
            word.set(ValueLayout.JAVA_INT, 0, 5);
            long start = System.nanoTime();
            assertEquals(-1, Futex.await(word, 4, TimeUnit.SECONDS.toNanos(30)), "EAGAIN: the word is not 4");
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "returned at once");
            start = System.nanoTime();
            assertEquals(-1, Futex.await(word, 5, TimeUnit.MILLISECONDS.toNanos(50)), "ETIMEDOUT");
            long waited = System.nanoTime() - start;
            assertTrue(waited >= TimeUnit.MILLISECONDS.toNanos(45) && waited < TimeUnit.SECONDS.toNanos(10),
                    "slept " + waited + " ns for a 50 ms timeout");
        }
    }

    @Test
    void aWakeEndsASleepInAnotherThread() throws Exception {
        assumeTrue(Futex.isAvailable());
        try (Arena arena = Arena.ofShared()) {
            MemorySegment word = arena.allocate(ValueLayout.JAVA_INT);
            CompletableFuture<Long> sleeper = CompletableFuture.supplyAsync(
                    () -> Futex.await(word, 0, TimeUnit.SECONDS.toNanos(50)));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            long woken = 0;
            while (woken == 0 && System.nanoTime() < deadline) { // 1 once the sleeper is in the kernel
                woken = Futex.wake(word, Integer.MAX_VALUE);
                Thread.onSpinWait();
            }
            assertEquals(1, woken, "the sleeper never slept");
            assertEquals(0, sleeper.get(10, TimeUnit.SECONDS), "woken, not timed out");
        }
    }
}
