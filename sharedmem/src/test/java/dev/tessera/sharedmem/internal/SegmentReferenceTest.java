package dev.tessera.sharedmem.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The named-owner protocol on a header in plain memory: no file, so the last release only counts. */
class SegmentReferenceTest {
    private static final Path PATH = Path.of("/nowhere/tessera-0123456789abcdef0123456789abcdef");

    private final Arena arena = Arena.ofConfined();
    private final AtomicInteger lastReleases = new AtomicInteger();
    private final MemorySegment header = arena.allocate(SegmentDescriptor.HEADER_LENGTH, 64);
    private final SegmentReference ref = new SegmentReference(PATH, header, (h, p) -> lastReleases.incrementAndGet(),
            false);
    private final ReferenceOwner creator = ReferenceOwner.attached("creator handle");

    SegmentReferenceTest() {
        ref.reserveFirst(creator, () -> SegmentDescriptor.initialize(header, 0, SegmentDescriptor.HEADER_LENGTH, 7,
                ProcessLiveness.selfPid(), ProcessLiveness.selfStartMillis(), 3));
    }

    @AfterEach
    void closeArena() {
        arena.close();
    }

    private int handlesOfThisProcess() {
        for (int i = 0; i < SegmentDescriptor.SLOT_COUNT; i++) {
            long v = SegmentDescriptor.getSlotVolatile(header, i);
            if (SegmentDescriptor.slotPid(v) == ProcessLiveness.selfPid()) {
                return SegmentDescriptor.slotHandles(v);
            }
        }
        return 0;
    }

    @Test
    void aDoubleReleaseNamesTheOwnerAndTheSegmentAndChangesNothing() {
        ReferenceOwner reader = ReferenceOwner.attached("reader handle");
        ref.reserve(reader);
        assertFalse(ref.release(reader));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ref.release(reader));
        assertTrue(e.getMessage().contains("reader handle") && e.getMessage().contains(PATH.toString())
                && e.getMessage().contains("holds no reference"), e.getMessage());
        assertEquals(1, SegmentDescriptor.getRefCountVolatile(header), "the creator's reference is untouched");
        assertEquals(1, handlesOfThisProcess());
        assertEquals(List.of("creator handle"), ref.holders());
    }

    @Test
    void aReleaseByAnOwnerThatNeverReservedIsRefused() {
        ReferenceOwner stranger = ReferenceOwner.local("stranger");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ref.release(stranger));
        assertTrue(e.getMessage().contains("stranger") && e.getMessage().contains("[creator handle]"), e.getMessage());
        ReferenceOwner sameName = ReferenceOwner.attached("creator handle");
        assertThrows(IllegalStateException.class, () -> ref.release(sameName), "owners are compared by identity");
        assertEquals(1, SegmentDescriptor.getRefCountVolatile(header));
    }

    @Test
    void reservingTwiceForOneOwnerIsRefused() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ref.reserve(creator));
        assertTrue(e.getMessage().contains("holds a reference already"), e.getMessage());
        assertEquals(1, SegmentDescriptor.getRefCountVolatile(header));
        assertEquals(1, handlesOfThisProcess(), "no second attach");
    }

    @Test
    void aTransferToAMessageKeepsTheCountAndTheReceiverTakesItOver() {
        ref.transfer(creator, ReferenceOwner.IN_FLIGHT);
        assertEquals(List.of("a message in flight"), ref.holders());
        assertEquals(1, SegmentDescriptor.getRefCountVolatile(header));
        assertEquals(0, handlesOfThisProcess(), "the sender detached");
        assertThrows(IllegalStateException.class, () -> ref.release(creator), "the creator gave it away");
        ReferenceOwner receiver = ReferenceOwner.attached("receiver handle");
        assertTrue(ref.reserveTakingInFlight(receiver));
        assertEquals(List.of("receiver handle"), ref.holders());
        IllegalStateException none = assertThrows(IllegalStateException.class,
                () -> ref.transfer(ReferenceOwner.IN_FLIGHT, ReferenceOwner.local("second receiver")));
        assertTrue(none.getMessage().contains("no reference is in flight"), none.getMessage());
        assertEquals(List.of("receiver handle"), ref.holders(), "the failed take-over left nothing behind");
        assertTrue(ref.release(receiver));
        assertEquals(1, lastReleases.get());
        assertEquals(SegmentDescriptor.RELEASED, SegmentDescriptor.getRefCountVolatile(header));
        assertThrows(IllegalStateException.class, () -> ref.reserve(ReferenceOwner.local("late")));
    }

    @Test
    void aReferenceInFlightIsRecalledNotReleased() {
        ref.transfer(creator, ReferenceOwner.IN_FLIGHT);
        assertThrows(IllegalStateException.class, () -> ref.release(ReferenceOwner.IN_FLIGHT));
        assertTrue(ref.recallInFlight());
        assertFalse(ref.recallInFlight(), "only one was in flight");
        assertEquals(1, lastReleases.get());
    }

    @Test
    void aRecordOwnerHoldsAReferenceThatAnyoneRemovingTheRecordReleases() {
        ReferenceOwner entry = ReferenceOwner.record("an index entry");
        ref.transfer(creator, entry);
        assertEquals(List.of("1 held by other processes or records"), ref.holders());
        assertEquals(0, handlesOfThisProcess());
        assertTrue(ref.release(entry));
        assertEquals(1, lastReleases.get());
    }

    @Test
    void aSoleHolderLendsOneReferenceAtATime() {
        ReferenceOwner staged = ReferenceOwner.local("staged copy");
        assertTrue(ref.isHeldOnlyBy(creator));
        assertTrue(ref.tryReserveSole(creator, staged));
        assertFalse(ref.tryReserveSole(creator, ReferenceOwner.local("second copy")), "lent already");
        assertEquals(List.of("creator handle", "staged copy"), ref.holders().stream().sorted().toList());
        ref.transfer(staged, ReferenceOwner.IN_FLIGHT);
        assertFalse(ref.isHeldOnlyBy(creator), "a message still holds it");
        assertTrue(ref.recallInFlight());
        assertTrue(ref.isHeldOnlyBy(creator));
        assertThrows(IllegalStateException.class, () -> ref.tryReserveSole(staged, ReferenceOwner.local("x")),
                "only a holder can lend");
        assertEquals(0, lastReleases.get());
    }
}
