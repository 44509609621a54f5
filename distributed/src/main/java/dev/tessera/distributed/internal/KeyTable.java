package dev.tessera.distributed.internal;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The replicated pair/register table of one World: for every group, paired keys (with their encoded values) and
 * registered keys (with the member that holds the service). Thread-safe (every method is synchronized); it owns
 * the encoded value bytes.
 *
 * <p>Every member holds a copy and changes it only in {@link Node}'s delivery of total-order multicasts and views
 * (SEQUENCER below GMS), so all copies apply the same changes in the same order: put-if-absent makes the first
 * writer win everywhere, and a departed member's entries go at the same point of the order everywhere. A change
 * from a sender no longer in the view is ignored, the same way on every copy. No copy is special, so no rank is a
 * single point of failure.
 */
public final class KeyTable {
    /** The table changes that travel in {@link Frame#TABLE} frames. */
    public static final byte PAIR = 1;
    /** Removes a pair held by the sender. */
    public static final byte UNPAIR = 2;
    /** Registers a service held by the sender. */
    public static final byte REGISTER = 3;
    /** Removes a registration held by the sender. */
    public static final byte DEREGISTER = 4;
    /** Removes everything the sender holds in one group (it destroyed the group). */
    public static final byte DROP = 5;

    /** One key's entry: who holds it, and for a pair the encoded value and its allowances. */
    public record Entry(String owner, byte[] value, String allowances) {}

    private final Map<String, Map<String, Entry>> pairs = new HashMap<>();
    private final Map<String, Map<String, Entry>> services = new HashMap<>();

    /**
     * Applies one change from {@code sender}.
     *
     * @return whether it took effect (a put on a free key, a removal by the key's holder)
     */
    public synchronized boolean apply(byte op, String group, String key, String sender, byte[] value,
            String allowances) {
        return switch (op) {
            case PAIR -> put(pairs, group, key, new Entry(sender, value, allowances));
            case UNPAIR -> remove(pairs, group, key, sender);
            case REGISTER -> put(services, group, key, new Entry(sender, null, ""));
            case DEREGISTER -> remove(services, group, key, sender);
            case DROP -> dropOwner(pairs, group, sender) | dropOwner(services, group, sender);
            default -> throw new IllegalArgumentException("unknown table change " + op + " from " + sender);
        };
    }

    private static boolean put(Map<String, Map<String, Entry>> table, String group, String key, Entry e) {
        return table.computeIfAbsent(group, g -> new HashMap<>()).putIfAbsent(key, e) == null;
    }

    private static boolean remove(Map<String, Map<String, Entry>> table, String group, String key, String sender) {
        Map<String, Entry> keys = table.get(group);
        Entry e = keys == null ? null : keys.get(key);
        return e != null && e.owner().equals(sender) && keys.remove(key) != null;
    }

    private static boolean dropOwner(Map<String, Map<String, Entry>> table, String group, String owner) {
        Map<String, Entry> keys = table.get(group);
        return keys != null && keys.values().removeIf(e -> e.owner().equals(owner));
    }

    /** Removes every entry {@code member} holds, in every group: it left the World. */
    public synchronized void departed(String member) {
        for (Map<String, Entry> keys : pairs.values()) {
            keys.values().removeIf(e -> e.owner().equals(member));
        }
        for (Map<String, Entry> keys : services.values()) {
            keys.values().removeIf(e -> e.owner().equals(member));
        }
    }

    /** The pair of {@code key} in {@code group}, if any. */
    public synchronized Optional<Entry> pair(String group, String key) {
        return Optional.ofNullable(pairs.getOrDefault(group, Map.of()).get(key));
    }

    /** The registration of {@code key} in {@code group}, if any. */
    public synchronized Optional<Entry> service(String group, String key) {
        return Optional.ofNullable(services.getOrDefault(group, Map.of()).get(key));
    }
}
