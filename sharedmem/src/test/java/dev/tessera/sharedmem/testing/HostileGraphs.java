package dev.tessera.sharedmem.testing;

import java.util.HashSet;
import java.util.Set;

/** Object graphs that attack a decoder, shared by the codec's and the store's tests. */
public final class HostileGraphs {
    private HostileGraphs() {}

    /**
     * The classic "billion laughs" of Java serialization: {@code depth} levels of two sets that each hold both
     * sets of the next level, so hashing the root visits 2^depth sets while the message stays small.
     */
    public static Set<Object> nestedSets(int depth) {
        Set<Object> root = new HashSet<>();
        Set<Object> s1 = root;
        Set<Object> s2 = new HashSet<>();
        for (int i = 0; i < depth; i++) {
            Set<Object> t1 = new HashSet<>();
            Set<Object> t2 = new HashSet<>();
            t1.add("foo");
            s1.add(t1);
            s1.add(t2);
            s2.add(t1);
            s2.add(t2);
            s1 = t1;
            s2 = t2;
        }
        return root;
    }
}
