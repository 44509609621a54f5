package dev.tessera.pool.internal;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Remembers which task functions a worker JVM already holds, so each is sent once per worker. The
 * parent keeps one per worker (function → id) and the worker a mirror (id → function); both are LRU
 * maps of the same capacity that see the same sequence of look-ups, so they evict the same entries
 * without talking to each other. Confined to one thread on each side.
 *
 * @param <K> key type
 * @param <V> value type
 */
final class FunctionCache<K, V> extends LinkedHashMap<K, V> {
    static final int CAPACITY = 256;

    FunctionCache() {
        super(64, 0.75f, true);
    }

    @Override
    protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
        return size() > CAPACITY;
    }
}
