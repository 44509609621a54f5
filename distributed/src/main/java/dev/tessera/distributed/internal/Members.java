package dev.tessera.distributed.internal;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.jgroups.Address;
import org.jgroups.View;
import org.jgroups.util.ExtendedUUID;
import org.jgroups.util.NameCache;

/**
 * One JGroups view read as World members: each address carries its member's name, rank, world size and host identity
 * ({@link HostId}; an {@link ExtendedUUID} made by {@link #address}), so every member knows every name, and which
 * members share its host, from the view itself. Immutable.
 */
public record Members(View view, Map<String, Address> byName, List<String> names, List<Integer> ranks) {
    static final String NAME_KEY = "tessera.name";
    static final String RANK_KEY = "tessera.rank";
    static final String HOST_KEY = "tessera.host";
    static final String SIZE_KEY = "tessera.size";
    /** Before the first view. */
    static final Members NONE = new Members(null, Map.of(), List.of(), List.of());

    /**
     * A fresh address for member {@code name} of rank {@code rank}. Its high 64 bits are the rank and its low 64 bits
     * random, so addresses sort by rank: when members start together and none is coordinator yet, JGroups lets the
     * first of the sorted clients found the cluster, and that is always rank 0, never a rank that happens to draw a
     * smaller random number.
     */
    static ExtendedUUID address(String name, int rank, int worldSize) {
        ExtendedUUID a = new ExtendedUUID(rank, ThreadLocalRandom.current().nextLong());
        NameCache.add(a, name);
        return a.put(NAME_KEY, name.getBytes(StandardCharsets.UTF_8))
                .put(RANK_KEY, Integer.toString(rank).getBytes(StandardCharsets.UTF_8))
                .put(HOST_KEY, HostId.current().getBytes(StandardCharsets.UTF_8))
                .put(SIZE_KEY, Integer.toString(worldSize).getBytes(StandardCharsets.UTF_8));
    }

    /** The members of {@code view}, in rank order; addresses that are not Tessera members are left out. */
    static Members of(View view) {
        List<Address> sorted = new ArrayList<>();
        for (Address a : view.getMembers()) {
            if (nameOf(a) != null) {
                sorted.add(a);
            }
        }
        sorted.sort(Comparator.comparingInt(Members::rankOf));
        Map<String, Address> byName = new HashMap<>();
        List<String> names = new ArrayList<>();
        List<Integer> ranks = new ArrayList<>();
        for (Address a : sorted) {
            byName.putIfAbsent(nameOf(a), a);
            names.add(nameOf(a));
            ranks.add(rankOf(a));
        }
        return new Members(view, Map.copyOf(byName), List.copyOf(names), List.copyOf(ranks));
    }

    /** The member name an address carries, or null if it is not a Tessera member's address. */
    static String nameOf(Address a) {
        byte[] name = a instanceof ExtendedUUID e ? e.get(NAME_KEY) : null;
        return name == null ? null : new String(name, StandardCharsets.UTF_8);
    }

    /** The rank an address carries, or -1. */
    static int rankOf(Address a) {
        byte[] rank = a instanceof ExtendedUUID e ? e.get(RANK_KEY) : null;
        try {
            return rank == null ? -1 : Integer.parseInt(new String(rank, StandardCharsets.UTF_8));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Whether member {@code name} is in this view and runs on this host (its address carries this host's id). */
    boolean onThisHost(String name) {
        Address a = byName.get(name);
        byte[] host = a instanceof ExtendedUUID e ? e.get(HOST_KEY) : null;
        return host != null && HostId.current().equals(new String(host, StandardCharsets.UTF_8));
    }

    /** Whether {@code name} is in this view. */
    boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** How many members. */
    int size() {
        return names.size();
    }

    /** A problem that makes this view unusable as a World of {@code worldSize}, and its fix; or null. */
    String conflict(int worldSize) {
        String distinct = "; give every process a distinct name and rank (TESSERA_NAME, TESSERA_RANK)";
        if (byName.size() != names.size()) {
            return "two members share a name: " + names + distinct;
        }
        for (int i = 1; i < ranks.size(); i++) {
            if (ranks.get(i).equals(ranks.get(i - 1))) {
                return "two members share rank " + ranks.get(i) + ": " + describe() + distinct;
            }
        }
        for (int r : ranks) {
            if (r < 0 || r >= worldSize) {
                return "a member has rank " + r + ", outside a World of size " + worldSize + ": " + describe()
                        + distinct;
            }
        }
        for (String name : names) {
            int size = sizeOf(byName.get(name));
            if (size != worldSize) {
                return "member '" + name + "' was started with a world size of " + size + ", this one with "
                        + worldSize + " (" + describe() + "); start every member with the same world size "
                        + "(setWorldSize, TESSERA_WORLD_SIZE)";
            }
        }
        return null;
    }

    /** The world size an address carries; -1 if it carries none. */
    private static int sizeOf(Address a) {
        byte[] size = a instanceof ExtendedUUID e ? e.get(SIZE_KEY) : null;
        try {
            return size == null ? -1 : Integer.parseInt(new String(size, StandardCharsets.UTF_8));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** {@code name(rank), ...} for messages. */
    String describe() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            out.add(names.get(i) + "(rank " + ranks.get(i) + ")");
        }
        return String.join(", ", out);
    }
}
