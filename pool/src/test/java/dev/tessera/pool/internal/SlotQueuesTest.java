package dev.tessera.pool.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SlotQueuesTest {
    private static Chunk chunk(long id) {
        return new Chunk(id, (c, a) -> null, null, new Object[0], 0, null);
    }

    @Test
    void aSlotTakesItsOwnChunksFirstAndNeverAnotherSlots() throws InterruptedException {
        SlotQueues q = new SlotQueues(2);
        Chunk shared = chunk(1);
        Chunk forOne = chunk(2);
        Chunk forZero = chunk(3);
        q.add(shared);
        q.addTo(1, forOne);
        q.addTo(0, forZero);
        assertSame(forZero, q.take(0), "own queue before the shared one");
        assertSame(shared, q.take(0));
        assertFalse(q.idleFor(1), "slot 1 still has its chunk");
        assertSame(forOne, q.take(1));
        assertTrue(q.idleFor(0) && q.idleFor(1));
    }

    @Test
    void closeLetsEachSlotDrainWhatIsQueuedThenTakeReturnsNull() throws InterruptedException {
        SlotQueues q = new SlotQueues(2);
        Chunk a = chunk(1);
        Chunk b = chunk(2);
        q.addTo(1, a);
        q.add(b);
        q.close();
        assertFalse(q.add(chunk(3)), "closed queues refuse chunks");
        assertFalse(q.addTo(0, chunk(4)));
        assertSame(a, q.take(1));
        assertSame(b, q.take(1));
        assertNull(q.take(1));
        assertNull(q.take(0));
    }

    @Test
    void stopReturnsEveryQueuedChunkAndReleasesWaitingSlots() throws Exception {
        SlotQueues q = new SlotQueues(3);
        CompletableFuture<Chunk> waiting = CompletableFuture.supplyAsync(() -> takeQuietly(q, 2));
        Chunk a = chunk(1);
        Chunk b = chunk(2);
        q.addTo(0, a); // not for slot 2, which waits meanwhile
        q.addTo(1, b);
        assertEquals(List.of(a, b), q.stop());
        assertNull(waiting.get(10, TimeUnit.SECONDS), "a slot waiting for work is released");
        assertNull(q.take(0), "stopped: nothing more is handed out");
        assertFalse(q.add(chunk(3)));

        SlotQueues withShared = new SlotQueues(1);
        Chunk c = chunk(4);
        withShared.add(c);
        assertEquals(List.of(c), withShared.stop());
    }

    @Test
    void aChunkForOneSlotWakesThatSlot() throws Exception {
        SlotQueues q = new SlotQueues(2);
        CompletableFuture<Chunk> slotOne = CompletableFuture.supplyAsync(() -> takeQuietly(q, 1));
        Chunk c = chunk(7);
        assertTrue(q.addTo(1, c));
        assertSame(c, slotOne.get(10, TimeUnit.SECONDS));
    }

    private static Chunk takeQuietly(SlotQueues q, int slot) {
        try {
            return q.take(slot);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
