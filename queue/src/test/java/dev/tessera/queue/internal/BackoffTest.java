package dev.tessera.queue.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BackoffTest {
    @Test
    void spinsAndYieldsForTheirTimeBeforeParkingWhateverASpinCosts() {
        Backoff backoff = new Backoff();
        long start = System.nanoTime();
        while (!backoff.parking()) {
            backoff.idle(Long.MAX_VALUE);
        }
        long waited = System.nanoTime() - start;
        // a lower bound only: the phases end by the clock, so this holds on a fast or a slow processor
        assertTrue(waited >= Backoff.SPIN_NANOS + Backoff.YIELD_NANOS, "parked after " + waited + " ns");
    }

    @Test
    void aFreshWaitIsNotParking() {
        Backoff backoff = new Backoff();
        assertFalse(backoff.parking());
        backoff.idle(1_000_000);
        assertFalse(backoff.parking(), "the first step spins");
    }
}
