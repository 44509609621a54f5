package dev.tessera.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tessera.queue.internal.EventCount;
import dev.tessera.queue.testing.QueueChild;
import dev.tessera.sharedmem.testing.ChildJvm;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Blocked calls woken by another JVM. The blocked handle never spins and, with the futex, sleeps up to 60 s
 * between looks at the queue, so a call that returns within seconds was woken by the other JVM's signal. With
 * the futex off ({@code -Dtessera.queue.futex=false}) the same tests check the polling fallback.
 */
@Tag("integration")
@ExtendWith(ShmLeakCheck.class)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class CrossJvmWakeupTest {
    /** Far beyond every bound below: only a wake-up ends a sleep in time. */
    private static final Duration LONG_SLEEP = Duration.ofSeconds(60);
    private static final long WELL_WITHIN_NANOS = TimeUnit.SECONDS.toNanos(5);

    @Test
    void consumerAsleepInGetWakesWhenAnotherJvmPuts() throws Exception {
        try (SimpleQueue q = sleepy().optCapacity(4).create();
                ChildJvm producer = child("put-lines", q.name())) {
            producer.expect("OPEN");
            CompletableFuture<Object> got = CompletableFuture.supplyAsync(() -> q.get(Duration.ofSeconds(30)));
            awaitAsleep(q, q.notEmpty(), 1);
            long put = System.nanoTime();
            producer.send("hello");
            assertEquals("hello", got.get(20, TimeUnit.SECONDS));
            long took = System.nanoTime() - put;
            assertTrue(took < WELL_WITHIN_NANOS, "woke " + took / 1_000_000 + " ms after the put was sent");
            assertEquals(0, q.notEmpty().waiters(), "nobody is counted once the consumer returned");
        }
    }

    @Test
    void producerAsleepOnAFullQueueWakesWhenAnotherJvmTakes() throws Exception {
        try (SimpleQueue q = sleepy().optCapacity(1).create();
                ChildJvm consumer = child("take-lines", q.name())) {
            consumer.expect("OPEN");
            q.put("first");
            CompletableFuture<Boolean> put = CompletableFuture.supplyAsync(
                    () -> q.offer("second", Duration.ofSeconds(30)));
            awaitAsleep(q, q.notFull(), 1);
            long take = System.nanoTime();
            consumer.send("take");
            assertEquals("first", consumer.expect("GOT"));
            assertTrue(put.get(20, TimeUnit.SECONDS), "the blocked put got the freed slot");
            long took = System.nanoTime() - take;
            assertTrue(took < WELL_WITHIN_NANOS, "woke " + took / 1_000_000 + " ms after the take was asked for");
            consumer.send("take");
            assertEquals("second", consumer.expect("GOT"));
        }
    }

    @Test
    void consumerKilledAsleepLeavesTheCountHighUntilTheNextPutWhichCostsNothingElse() throws Exception {
        try (SimpleQueue q = sleepy().optCapacity(4).create()) {
            assumeTrue(q.waitMode() == SimpleQueue.WaitMode.FUTEX, "no waiter count without the futex");
            try (ChildJvm sleeper = child("get-one", q.name())) {
                assertEquals("FUTEX", sleeper.expect("OPEN"));
                awaitAsleep(q, q.notEmpty(), 1);
                sleeper.kill9();
            }
            assertEquals(1, q.notEmpty().waiters(), "the killed consumer is still counted");
            CompletableFuture<Object> got = CompletableFuture.supplyAsync(() -> q.get(Duration.ofSeconds(30)));
            awaitAsleep(q, q.notEmpty(), 2);
            try (ChildJvm producer = child("put-lines", q.name())) {
                producer.expect("OPEN");
                long put = System.nanoTime();
                producer.send("after the kill");
                assertEquals("after the kill", got.get(20, TimeUnit.SECONDS));
                assertTrue(System.nanoTime() - put < WELL_WITHIN_NANOS, "a live sleeper is still woken at once");
                for (int i = 0; i < 3 * q.capacity(); i++) { // nothing was lost to the dead consumer
                    producer.send("m" + i);
                    assertEquals("m" + i, q.get(Duration.ofSeconds(20)));
                }
            }
            long start = System.nanoTime();
            assertThrows(QueueTimeoutException.class, () -> q.get(Duration.ofMillis(200)));
            long waited = System.nanoTime() - start;
            assertTrue(waited >= TimeUnit.MILLISECONDS.toNanos(200) && waited < WELL_WITHIN_NANOS,
                    "a 200 ms get took " + waited / 1_000_000 + " ms");
            assertEquals(0, q.notEmpty().waiters(), "the put that woke the live sleeper reset the dead one's count");
        }
    }

    /** A handle that never spins and sleeps up to a minute between looks. */
    private static SimpleQueue.Builder sleepy() {
        return SimpleQueue.builder().optSpinWait(Duration.ZERO).maxSleep(LONG_SLEEP);
    }

    /**
     * Waits (bounded) until {@code count} callers are registered on {@code ec}, so the next change must wake a
     * sleeper; the polling fallback registers nobody, and its callers poll.
     */
    private static void awaitAsleep(SimpleQueue q, EventCount ec, int count) {
        if (q.waitMode() != SimpleQueue.WaitMode.FUTEX) {
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (ec.waiters() < count) {
            assertTrue(System.nanoTime() < deadline, "no caller registered to sleep within 30 s");
            Thread.onSpinWait();
        }
    }

    private static ChildJvm child(String... args) throws java.io.IOException {
        return ChildJvm.start(QueueChild.class, ShmLeakCheck.directory(), args);
    }
}
