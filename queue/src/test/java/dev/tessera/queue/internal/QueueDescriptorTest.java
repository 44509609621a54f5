package dev.tessera.queue.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class QueueDescriptorTest {
    private static final long WRAP = 1L << 52;

    @Test
    void stateWordsCarryPositionOwnerAndKind() {
        long s = QueueDescriptor.reading(WRAP + 12345, 1023);
        assertEquals(QueueDescriptor.KIND_READING, QueueDescriptor.kind(s));
        assertEquals(1023, QueueDescriptor.owner(s));
        assertEquals(0, QueueDescriptor.distance(s, 12345));
        assertEquals(QueueDescriptor.KIND_WRITING, QueueDescriptor.kind(QueueDescriptor.writing(7, 3)));
        assertEquals(3, QueueDescriptor.owner(QueueDescriptor.writing(7, 3)));
    }

    @Test
    void distanceIsSignedAcrossThePositionWrap() {
        int cap = 4;
        for (long p : new long[] {0, 5, WRAP - 2, WRAP - 1, WRAP, WRAP + 1, Long.MAX_VALUE - 10}) {
            assertEquals(0, QueueDescriptor.distance(QueueDescriptor.empty(p), p), "p=" + p);
            assertEquals(cap, QueueDescriptor.distance(QueueDescriptor.empty(p + cap), p), "p=" + p);
            assertEquals(-cap, QueueDescriptor.distance(QueueDescriptor.full(p - cap), p), "p=" + p);
        }
    }

    @Test
    void checkCapacityNamesTheValueAndRange() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> QueueDescriptor.checkCapacity(1 << 25, 100));
        assertEquals("capacity=33554432 (expected 1 <= x <= 16777216)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> QueueDescriptor.checkCapacity(8, 0));
        assertEquals("maxMessageBytes=0 (expected 1 <= x <= 67108864)", e.getMessage());
        assertEquals(4096, QueueDescriptor.slotStride(4080));
        assertEquals(64, QueueDescriptor.slotStride(1));
    }
}
