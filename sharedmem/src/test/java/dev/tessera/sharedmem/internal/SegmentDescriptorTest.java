package dev.tessera.sharedmem.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class SegmentDescriptorTest {

    private static MemorySegment header(Arena arena, int flags) {
        MemorySegment h = arena.allocate(SegmentDescriptor.HEADER_LENGTH, 64);
        SegmentDescriptor.initialize(h, flags, SegmentDescriptor.HEADER_LENGTH, 7, 1, 2, 3);
        return h;
    }

    @Test
    void layoutKeepsSharedFieldsOnTheirOwnCacheLineAndDataAligned() {
        assertEquals(64, SegmentDescriptor.REF_COUNT_OFFSET);
        assertEquals(0, SegmentDescriptor.HEADER_LENGTH % SegmentDescriptor.DATA_ALIGNMENT);
        assertEquals(4096 + 64, SegmentDescriptor.segmentLength(1));
        assertEquals(4096, SegmentDescriptor.segmentLength(0));
        assertTrue(SegmentDescriptor.SLOT_COUNT >= 128);
        assertThrows(IllegalArgumentException.class, () -> SegmentDescriptor.segmentLength(-1));
        assertThrows(IllegalStateException.class, () -> SegmentDescriptor.checkCapacity(100));
    }

    @Test
    void initializePublishesVersionAndOneReference() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment h = arena.allocate(SegmentDescriptor.HEADER_LENGTH, 64);
            assertEquals(0, SegmentDescriptor.getLayoutVersionAcquire(h));
            SegmentDescriptor.initialize(h, 0, 4096, 7, 11, 12, 13);
            assertEquals(SegmentDescriptor.LAYOUT_VERSION, SegmentDescriptor.getLayoutVersionAcquire(h));
            assertEquals(SegmentDescriptor.MAGIC, SegmentDescriptor.getMagic(h));
            assertEquals(1, SegmentDescriptor.getRefCountVolatile(h));
            assertEquals(11, SegmentDescriptor.getOwnerPid(h));
            assertEquals(7, SegmentDescriptor.getGeneration(h));
        }
    }

    @Test
    void releasedSegmentCanNeverBeRetainedAgain() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment h = header(arena, 0);
            assertTrue(SegmentDescriptor.tryRetain(h));
            assertFalse(SegmentDescriptor.release(h));
            assertTrue(SegmentDescriptor.release(h), "the last release kills the segment");
            assertEquals(SegmentDescriptor.RELEASED, SegmentDescriptor.getRefCountVolatile(h));
            assertFalse(SegmentDescriptor.tryRetain(h));
            assertFalse(SegmentDescriptor.release(h));
        }
    }

    @Test
    void persistentSegmentStaysRetainableAtZero() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment h = header(arena, SegmentDescriptor.FLAG_PERSISTENT);
            assertFalse(SegmentDescriptor.release(h));
            assertEquals(0, SegmentDescriptor.getRefCountVolatile(h));
            assertTrue(SegmentDescriptor.tryRetain(h));
        }
    }

    @Test
    void handoffIsTakenOverAtMostOnce() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment h = header(arena, 0);
            assertFalse(SegmentDescriptor.tryTakePendingHandoff(h));
            SegmentDescriptor.addPendingHandoff(h);
            assertTrue(SegmentDescriptor.tryTakePendingHandoff(h));
            assertFalse(SegmentDescriptor.tryTakePendingHandoff(h));
        }
    }

    @Test
    void slotsCountHandlesPerProcessAndFreeWithTheLastOne() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment h = header(arena, 0);
            SegmentDescriptor.attach(h, 100, 5);
            SegmentDescriptor.attach(h, 100, 5);
            SegmentDescriptor.attach(h, 200, 6);
            assertEquals(100, SegmentDescriptor.slotPid(SegmentDescriptor.getSlotVolatile(h, 0)));
            assertEquals(2, SegmentDescriptor.slotHandles(SegmentDescriptor.getSlotVolatile(h, 0)));
            assertEquals(6, SegmentDescriptor.getSlotStartMillisAcquire(h, 1));
            SegmentDescriptor.detach(h, 100);
            SegmentDescriptor.detach(h, 100);
            assertEquals(0, SegmentDescriptor.getSlotVolatile(h, 0));
            assertEquals(1, SegmentDescriptor.slotHandles(SegmentDescriptor.getSlotVolatile(h, 1)));
        }
    }

    @Test
    void fullSlotTableIsAClearError() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment h = header(arena, 0);
            for (int pid = 1; pid <= SegmentDescriptor.SLOT_COUNT; pid++) {
                SegmentDescriptor.attach(h, pid, 0);
            }
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> SegmentDescriptor.attach(h, 999_999, 0));
            assertTrue(e.getMessage().contains(Integer.toString(SegmentDescriptor.SLOT_COUNT)), e.getMessage());
        }
    }

    /** The pid of a process that has exited and been reaped (so it is neither alive nor a zombie). */
    private static int exitedPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
        assertFalse(ProcessHandle.of(p.pid()).map(ProcessHandle::isAlive).orElse(false));
        return Math.toIntExact(p.pid());
    }

    @Test
    void releaseDeadHoldersDropsExactlyTheDeadProcessesHandlesOnce() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment h = header(arena, 0); // one reference: the creator's (pid 1 in this header, alive)
            int self = ProcessLiveness.selfPid();
            int dead = exitedPid();
            SegmentDescriptor.attach(h, self, ProcessLiveness.selfStartMillis());
            for (int i = 0; i < 3; i++) { // the dead process held three handles, each with a reference
                SegmentDescriptor.attach(h, dead, 1);
                assertTrue(SegmentDescriptor.tryRetain(h));
            }
            SegmentDescriptor.addPendingHandoff(h); // and one reference travels in a message (in no slot)
            assertTrue(SegmentDescriptor.tryRetain(h));
            assertEquals(5, SegmentDescriptor.getRefCountVolatile(h));

            assertFalse(SegmentDescriptor.releaseDeadHolders(h), "the creator's and the message's references stay");
            assertEquals(2, SegmentDescriptor.getRefCountVolatile(h));
            assertFalse(SegmentDescriptor.releaseDeadHolders(h));
            assertEquals(2, SegmentDescriptor.getRefCountVolatile(h), "a second pass drops nothing");

            assertFalse(SegmentDescriptor.release(h)); // the creator closes
            assertTrue(SegmentDescriptor.tryTakePendingHandoff(h));
            assertTrue(SegmentDescriptor.release(h), "the receiver's close is the last");
        }
    }

    @Test
    void releaseDeadHoldersKillsASegmentOnlyDeadProcessesHold() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment h = header(arena, 0);
            int dead = exitedPid();
            SegmentDescriptor.attach(h, dead, 1);
            assertTrue(SegmentDescriptor.tryRetain(h));
            assertFalse(SegmentDescriptor.release(h)); // the owner closes: the dead reader's reference pins it
            assertEquals(1, SegmentDescriptor.getRefCountVolatile(h));
            assertTrue(SegmentDescriptor.releaseDeadHolders(h));
            assertEquals(SegmentDescriptor.RELEASED, SegmentDescriptor.getRefCountVolatile(h));
            assertFalse(SegmentDescriptor.tryRetain(h), "never revived");

            MemorySegment p = header(arena, SegmentDescriptor.FLAG_PERSISTENT);
            SegmentDescriptor.attach(p, dead, 1);
            assertTrue(SegmentDescriptor.tryRetain(p));
            assertFalse(SegmentDescriptor.release(p));
            assertFalse(SegmentDescriptor.releaseDeadHolders(p), "a persistent segment stays at 0");
            assertEquals(0, SegmentDescriptor.getRefCountVolatile(p));
        }
    }

    @Test
    void concurrentDiscountersDropEachDeadHolderOnce() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment h = header(arena, 0);
            int dead = exitedPid();
            for (int i = 0; i < 4; i++) {
                SegmentDescriptor.attach(h, dead, 1);
                assertTrue(SegmentDescriptor.tryRetain(h));
            }
            java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(4);
            java.util.List<Thread> threads = new java.util.ArrayList<>();
            java.util.concurrent.atomic.AtomicInteger kills = new java.util.concurrent.atomic.AtomicInteger();
            for (int t = 0; t < 4; t++) {
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        start.await(30, java.util.concurrent.TimeUnit.SECONDS);
                        if (SegmentDescriptor.releaseDeadHolders(h)) {
                            kills.incrementAndGet();
                        }
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                }));
            }
            for (Thread t : threads) {
                t.join(30_000);
            }
            assertEquals(0, kills.get());
            assertEquals(1, SegmentDescriptor.getRefCountVolatile(h), "the four dead references, dropped once");
        }
    }
}
