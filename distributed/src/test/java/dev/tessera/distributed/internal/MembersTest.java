package dev.tessera.distributed.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.jgroups.Address;
import org.jgroups.View;
import org.junit.jupiter.api.Test;

/** A view read as World members, and the conflicts that stop a World from forming, each with its fix. */
class MembersTest {
    private static Members of(Address... members) {
        return Members.of(View.create(members[0], 1, members));
    }

    @Test
    void membersSortByRankAndAConsistentViewHasNoConflict() {
        Members m = of(Members.address("b", 1, 2), Members.address("a", 0, 2));
        assertEquals(List.of("a", "b"), m.names());
        assertEquals(List.of(0, 1), m.ranks());
        assertNull(m.conflict(2));
    }

    @Test
    void aMemberStartedWithAnotherWorldSizeIsAConflictNamingBothSizes() {
        // before the size travelled in the address, rank 0 of a World of 2 completed with a member that waited for 3
        Members m = of(Members.address("a", 0, 2), Members.address("b", 1, 3));
        assertEquals("member 'b' was started with a world size of 3, this one with 2 (a(rank 0), b(rank 1)); start "
                + "every member with the same world size (setWorldSize, TESSERA_WORLD_SIZE)", m.conflict(2));
    }

    @Test
    void sharedRanksAndNamesAreConflictsNamingTheVariables() {
        assertEquals("two members share rank 1: a(rank 0), b(rank 1), c(rank 1); give every process a distinct name "
                + "and rank (TESSERA_NAME, TESSERA_RANK)", of(Members.address("a", 0, 3), Members.address("b", 1, 3),
                Members.address("c", 1, 3)).conflict(3));
        assertEquals("two members share a name: [a, a]; give every process a distinct name and rank (TESSERA_NAME, "
                + "TESSERA_RANK)", of(Members.address("a", 0, 2), Members.address("a", 1, 2)).conflict(2));
    }
}
