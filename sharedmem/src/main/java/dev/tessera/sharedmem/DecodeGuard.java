package dev.tessera.sharedmem;

import java.io.ObjectInputFilter;
import java.util.Arrays;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Enforces a {@link TensorCodec}'s decoding limits on one Java-serialized graph, before the JDK allocates
 * anything they guard. One guard per decode call; not thread-safe (deserialization is single-threaded).
 *
 * <p>Two hooks see the stream. The {@link ObjectInputFilter} is called before every array allocation
 * (including the tables that {@code ArrayList}, {@code HashMap} and {@code HashSet} size from the stream), for
 * every new class and for every back-reference, with the depth, the number of references and the bytes read
 * so far. It checks {@code maxDepth}, {@code maxReferences}, {@code maxArrayLength}, and that the bytes an
 * array needs (one per reference element, the element size per primitive, an eighth of one per hash-table
 * slot, whose table is at most 8 times its declared size) are still in the graph; reference arrays may
 * together declare {@value #UNBACKED_SLOTS} slots more (so that a {@code Collections.nCopies} list, which
 * checks its length like an array but writes one element, still decodes). {@code resolveObject}
 * sees every object once it is complete and before its container can use it.
 *
 * <p><b>Hash work.</b> A {@code HashSet} or {@code HashMap} hashes each element as it reads it, and the hash
 * of a collection visits every element reachable from it, through shared references as many times as they
 * are reached: 40 nested sets that each hold the next one twice cost 2^40 visits from 2 KB of input. The
 * guard keeps, for every collection, map and map entry it has seen complete, the number of elements a hash of
 * it visits ({@code 1 + the sum over its elements}, kept per object, so computing it costs one pass over
 * each collection), and adds it to a running total before any container can hash it. A back-reference
 * directly inside a {@code HashMap} or {@code HashSet} (which may repeat an element and hash it again)
 * adds the largest such count seen so far. The total may not exceed {@code maxHashWork}, which therefore
 * bounds the hashing of the JDK collections that the default allow-list admits. The hash codes of
 * classes the caller allows are theirs to keep cheap.
 */
final class DecodeGuard {
    /** Bytes that the stream may have read ahead of what it parsed (one block of custom data, and its header). */
    private static final long READ_AHEAD = 1024 + 5;
    /**
     * Reference slots that the graph's arrays may declare beyond what its remaining bytes could fill, over the
     * whole graph: {@code Collections.nCopies} checks its length like an array but writes one element.
     */
    static final long UNBACKED_SLOTS = 1 << 20;
    /** A hash table may be 8 times its element count (load factor clamped to 0.25, then a power of two). */
    private static final int HASH_TABLE_SLOTS_PER_ELEMENT = 8;

    private final TensorCodec.Limits limits;
    private final long graphBytes;
    private final IdentityHashMap<Object, Long> visits = new IdentityHashMap<>();
    private int[] hashedDepths = new int[8];
    private int hashedCount;
    private long hashWork;
    private long unbackedSlots;
    private long maxVisits = 1;
    private MalformedMessageException violation;

    DecodeGuard(TensorCodec.Limits limits, long graphBytes) {
        this.limits = limits;
        this.graphBytes = graphBytes;
    }

    /** The limit the filter rejected the stream for, or null. */
    MalformedMessageException violation() {
        return violation;
    }

    /** Checks the limits; REJECTED (with {@link #violation()} set) or UNDECIDED for the allow-list to decide. */
    ObjectInputFilter.Status check(ObjectInputFilter.FilterInfo info) {
        try {
            checkLimits(info);
            return ObjectInputFilter.Status.UNDECIDED;
        } catch (MalformedMessageException e) {
            violation = e;
            return ObjectInputFilter.Status.REJECTED;
        }
    }

    private void checkLimits(ObjectInputFilter.FilterInfo info) {
        if (info.depth() > limits.maxDepth()) {
            throw over("maxDepth", limits.maxDepth(), "the graph nests " + info.depth() + " objects deep");
        }
        if (info.references() > limits.maxReferences()) {
            throw over("maxReferences", limits.maxReferences(), "the graph holds more than " + limits.maxReferences()
                    + " objects and references");
        }
        int depth = (int) info.depth();
        while (hashedCount > 0 && hashedDepths[hashedCount - 1] >= depth) {
            hashedCount--; // that hash table is complete: the stream is back at its level or above
        }
        if (info.arrayLength() >= 0) {
            checkArray(info);
        } else if (info.serialClass() == null && hashedCount > 0 && hashedDepths[hashedCount - 1] == depth - 1) {
            addHashWork(maxVisits, "a back-reference inside a hash table");
        }
    }

    private void checkArray(ObjectInputFilter.FilterInfo info) {
        long length = info.arrayLength();
        if (length > limits.maxArrayLength()) {
            throw over("maxArrayLength", limits.maxArrayLength(), "the graph declares an array of " + length
                    + " elements");
        }
        Class<?> type = info.serialClass();
        Class<?> component = type != null && type.isArray() ? type.getComponentType() : Object.class;
        boolean hashTable = component == Map.Entry.class;
        long needed = hashTable ? length / HASH_TABLE_SLOTS_PER_ELEMENT : length * elementBytes(component);
        long unbacked = needed - (graphBytes - info.streamBytes() + READ_AHEAD);
        if (unbacked > 0 && !component.isPrimitive() && unbacked <= UNBACKED_SLOTS - unbackedSlots) {
            unbackedSlots += unbacked; // Collections.nCopies checks its length as an array it never allocates
        } else if (unbacked > 0) {
            throw new MalformedMessageException("the graph declares " + (hashTable ? "a hash table of " : "an array of ")
                    + length + " elements, which need at least " + needed + " more bytes, but only "
                    + Math.max(0, graphBytes - info.streamBytes()) + " of its " + graphBytes + " bytes remain", null);
        }
        if (hashTable) {
            if (hashedCount == hashedDepths.length) {
                hashedDepths = Arrays.copyOf(hashedDepths, hashedCount * 2);
            }
            hashedDepths[hashedCount++] = (int) info.depth();
        }
    }

    private static long elementBytes(Class<?> component) {
        if (component == long.class || component == double.class) {
            return 8;
        }
        if (component == int.class || component == float.class) {
            return 4;
        }
        return component == short.class || component == char.class ? 2 : 1;
    }

    /**
     * Counts a complete object's hash visits before its container can hash it.
     *
     * @throws MalformedMessageException if the total passes {@code maxHashWork}
     */
    void completed(Object obj) {
        long count = 1;
        if (obj instanceof Collection<?> c) {
            for (Object element : c) {
                count = saturated(count + visitsOf(element));
            }
        } else if (obj instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                count = saturated(count + 1 + visitsOf(e.getKey()) + visitsOf(e.getValue()));
            }
        } else if (obj instanceof Map.Entry<?, ?> e) {
            count = saturated(count + visitsOf(e.getKey()) + visitsOf(e.getValue()));
        } else {
            return;
        }
        visits.put(obj, count);
        maxVisits = Math.max(maxVisits, count);
        addHashWork(count, "a " + obj.getClass().getName() + " reaching " + count + " elements");
    }

    private static long saturated(long value) {
        return Math.min(value, Long.MAX_VALUE / 4);
    }

    /** An element's hash visits; 1 for values, and for a container still being read (a cycle). */
    private long visitsOf(Object element) {
        Long known = visits.get(element);
        return known != null ? known : 1;
    }

    private void addHashWork(long work, String what) {
        hashWork = saturated(hashWork + work);
        if (hashWork > limits.maxHashWork()) {
            throw over("maxHashWork", limits.maxHashWork(), "hashing the graph's collections would visit more than "
                    + limits.maxHashWork() + " elements (at " + what + ")");
        }
    }

    static MalformedMessageException over(String limit, long value, String what) {
        return new MalformedMessageException(what + ": over the limit " + limit + "=" + value + " (raise it with opt"
                + Character.toUpperCase(limit.charAt(0)) + limit.substring(1) + " if the sender is trusted)", limit, null);
    }
}
