package dev.tessera.queue.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The event-count protocol on a queue header in private memory, between threads of this JVM. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EventCountTest {
    private static final long LONG_SLEEP = TimeUnit.SECONDS.toNanos(60);
    private Arena arena;
    private MemorySegment region;

    @BeforeEach
    void header() {
        assumeTrue(Futex.isAvailable(), "futex unavailable or turned off: " + Futex.unavailableBecause());
        arena = Arena.ofShared();
        region = arena.allocate(QueueDescriptor.SLOTS_OFFSET, 64);
    }

    @AfterEach
    void free() {
        if (arena != null) {
            arena.close();
        }
    }

    @Test
    void aSignalWithNobodyWaitingLeavesTheEpochAloneSoMakesNoSyscall() {
        EventCount ec = EventCount.notEmpty(region, true, LONG_SLEEP);
        for (int i = 0; i < 1000; i++) {
            ec.signal();
        }
        assertEquals(0, ec.epoch(), "the new epoch and the futex_wake go together, only with waiters counted");
    }

    @Test
    void aSleeperIsCountedUntilItsWaitEndsAndASignalWakesIt() throws Exception {
        EventCount ec = EventCount.notFull(region, true, LONG_SLEEP);
        AtomicBoolean ready = new AtomicBoolean();
        CompletableFuture<Long> waited = CompletableFuture.supplyAsync(() -> waitFor(ec, ready));
        awaitWaiters(ec, 1);
        ready.set(true);
        long signalled = System.nanoTime();
        ec.signal();
        long woke = waited.get(30, TimeUnit.SECONDS);
        assertTrue(woke - signalled < TimeUnit.SECONDS.toNanos(10), "woken by the signal, not the 60 s cap");
        assertEquals(1, ec.epoch(), "one signal found a waiter");
        assertEquals(0, ec.waiters(), "the signal reset the count");
    }

    @Test
    void aCountLeftHighByKilledWaitersCostsTheNextSignalOneWakeUp() throws Exception {
        EventCount ec = EventCount.notEmpty(region, true, LONG_SLEEP);
        QueueDescriptor.putWaitWordVolatile(region, QueueDescriptor.NOT_EMPTY_WAIT_OFFSET, 3); // three "dead"
        ec.signal();
        assertEquals(1, ec.epoch(), "a futex_wake for nobody");
        assertEquals(0, ec.waiters(), "and the count is right again");
        ec.signal();
        assertEquals(1, ec.epoch(), "no more wake-ups");
        QueueDescriptor.putWaitWordVolatile(region, QueueDescriptor.NOT_EMPTY_WAIT_OFFSET, 3);
        AtomicBoolean ready = new AtomicBoolean();
        CompletableFuture<Long> waited = CompletableFuture.supplyAsync(() -> waitFor(ec, ready));
        awaitWaiters(ec, 4);
        ready.set(true);
        ec.signal();
        waited.get(30, TimeUnit.SECONDS);
        assertEquals(0, ec.waiters());
    }

    @Test
    void aWaiterWhoseEpochEndedDoesNotLeaveAnotherEpochsCount() {
        EventCount ec = EventCount.notFull(region, true, LONG_SLEEP);
        try (Waiter first = ec.newWaiter(0); Waiter second = ec.newWaiter(0)) {
            first.idle(LONG_SLEEP); // registers in epoch 0
            ec.signal(); // epoch 1, count 0: first's registration is gone
            second.idle(LONG_SLEEP); // registers in epoch 1
            assertEquals(1, ec.waiters());
            first.close();
            assertEquals(1, ec.waiters(), "the first waiter's leaving must not drop the second's registration");
            second.close();
            assertEquals(0, ec.waiters());
        }
    }

    @Test
    void aWokenWaiterRegistersAgainBeforeItSleepsAgain() {
        EventCount ec = EventCount.notEmpty(region, true, LONG_SLEEP);
        try (Waiter w = ec.newWaiter(0)) {
            w.idle(LONG_SLEEP); // registers in epoch 0
            ec.signal(); // epoch 1
            w.idle(LONG_SLEEP); // returns at once: the epoch is not its key any more
            assertEquals(0, ec.waiters());
            w.idle(LONG_SLEEP); // registers in epoch 1
            assertEquals(1, ec.waiters(), "counted again before its next sleep");
        }
        assertEquals(0, ec.waiters());
    }

    @Test
    void aSleepEndsAtTheCallersDeadlineNotAtTheCap() {
        EventCount ec = EventCount.notEmpty(region, true, LONG_SLEEP);
        try (Waiter w = ec.newWaiter(0)) {
            w.idle(1); // registers
            long start = System.nanoTime();
            w.idle(TimeUnit.MILLISECONDS.toNanos(100));
            long slept = System.nanoTime() - start;
            assertTrue(slept >= TimeUnit.MILLISECONDS.toNanos(90) && slept < TimeUnit.SECONDS.toNanos(10),
                    "slept " + slept + " ns for 100 ms left");
        }
        assertEquals(0, ec.waiters());
    }

    @Test
    void aWaitWithSpinTimeSpinsBeforeItRegisters() {
        EventCount ec = EventCount.notEmpty(region, true, LONG_SLEEP);
        try (Waiter w = ec.newWaiter(TimeUnit.MILLISECONDS.toNanos(1))) {
            long start = System.nanoTime();
            while (!w.parking()) {
                w.idle(LONG_SLEEP);
                assertEquals(0, ec.waiters(), "counted while still spinning");
            }
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(1));
            w.idle(LONG_SLEEP);
            assertEquals(1, ec.waiters());
        }
    }

    /** A caller's loop: returns when it saw {@code ready}. */
    private static long waitFor(EventCount ec, AtomicBoolean ready) {
        try (Waiter w = ec.newWaiter(0)) {
            while (!ready.get()) {
                w.idle(LONG_SLEEP);
            }
            return System.nanoTime();
        }
    }

    private static void awaitWaiters(EventCount ec, int count) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (ec.waiters() != count) {
            assertTrue(System.nanoTime() < deadline, "waiters stayed at " + ec.waiters() + ", expected " + count);
            Thread.onSpinWait();
        }
    }
}
