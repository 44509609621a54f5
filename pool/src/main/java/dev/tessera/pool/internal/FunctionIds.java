package dev.tessera.pool.internal;

import dev.tessera.pool.internal.protocol.TaskFlyweight;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The parent's table of the task functions one worker JVM holds, so each is sent once per worker. The
 * parent owns the id space: it assigns ids, evicts the least recently used function when the table is
 * full, and tells the worker which ids it evicted in the next TASK ({@link TaskFlyweight}). The worker
 * keeps exactly what it is told to keep, so the two sides never depend on two caches evicting in step.
 * Confined to the slot's driver thread.
 *
 * <p>Lifecycle of an entry: {@link #assign} adds it before the TASK that carries the function is sent;
 * {@link #forget} removes it when the worker did not keep the function (it could not decode it, or the
 * message could not be sent); an eviction queues the id until a TASK reaches the worker
 * ({@link #evictionsSent}). A new worker starts with a new table.
 */
final class FunctionIds {
    /** Functions a worker holds at most, by default. */
    static final int DEFAULT_CAPACITY = 256;

    private final int capacity;
    private final LinkedHashMap<Object, Integer> ids;
    private int[] evicted = new int[0];
    private int nextId;

    FunctionIds(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("functionCacheCapacity=" + capacity + " (expected > 0)");
        }
        this.capacity = capacity;
        this.ids = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Object, Integer> eldest) {
                if (size() <= FunctionIds.this.capacity) {
                    return false;
                }
                evicted = append(evicted, eldest.getValue());
                return true;
            }
        };
    }

    /**
     * The id under which the worker holds (or will hold) the function {@code key}.
     *
     * @return {@code (id, send)}: {@code send} when the function must travel with the task; a null key (a
     *     function without a stable identity) gets {@link TaskFlyweight#UNCACHED} and always travels
     */
    Assignment assign(Object key) {
        if (key == null) {
            return new Assignment(TaskFlyweight.UNCACHED, true);
        }
        Integer id = ids.get(key);
        if (id != null) {
            return new Assignment(id, false);
        }
        int fresh = nextId++;
        ids.put(key, fresh);
        return new Assignment(fresh, true);
    }

    /** Drops {@code key}: the worker does not hold it (any more), so the next task sends it again. */
    void forget(Object key) {
        if (key != null) {
            ids.remove(key);
        }
    }

    /** The ids the worker must drop; they travel with the next TASK. */
    int[] pendingEvictions() {
        return evicted;
    }

    /** The TASK carrying {@link #pendingEvictions()} reached the worker. */
    void evictionsSent() {
        evicted = new int[0];
    }

    int size() {
        return ids.size();
    }

    private static int[] append(int[] a, int v) {
        int[] out = java.util.Arrays.copyOf(a, a.length + 1);
        out[a.length] = v;
        return out;
    }

    /** Where a task's function stands on its worker. */
    record Assignment(int id, boolean send) {}
}
