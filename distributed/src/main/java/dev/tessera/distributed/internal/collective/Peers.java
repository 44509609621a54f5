package dev.tessera.distributed.internal.collective;

import dev.tessera.distributed.MemberLostException;
import dev.tessera.distributed.internal.Node;
import java.util.Arrays;

/**
 * The ranks of one collective group as this member sees them: world ranks and member names by group index, this
 * member's index, and whether each is still in the World's view. Immutable (the view it reads is the node's).
 *
 * @param group the group's name
 * @param ranks world rank by group index, ascending
 * @param names member name by group index
 * @param self this member's group index
 * @param node this member's node, whose view decides who is lost
 */
public record Peers(String group, int[] ranks, String[] names, int self, Node node) {
    /** How many ranks. */
    public int size() {
        return ranks.length;
    }

    /** The group index of world rank {@code rank}, or -1. */
    public int indexOf(int rank) {
        return Arrays.binarySearch(ranks, rank) >= 0 ? Arrays.binarySearch(ranks, rank) : -1;
    }

    /**
     * Throws if a member other than this one left the World's view.
     *
     * @throws MemberLostException naming it
     */
    public void checkAlive(String what) {
        if (node.isClosed()) {
            throw new IllegalStateException(what + ": the World of member '" + names[self] + "' is closed");
        }
        for (int i = 0; i < names.length; i++) {
            if (i != self && node.rankOf(names[i]) < 0) {
                throw new MemberLostException(names[i], what);
            }
        }
    }

    /** {@code what} prefixed with the group's name, for messages. */
    public String describe(String what) {
        return what + " in collective group '" + group + "'";
    }
}
