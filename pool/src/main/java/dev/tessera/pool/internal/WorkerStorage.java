package dev.tessera.pool.internal;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The per-worker storage behind {@code Worker.storage()} (machin's {@code CtxPoolStorage}): one map per
 * worker incarnation, kept across the tasks that worker runs and never carried to its replacement.
 * Thread-safe (the maps are concurrent).
 *
 * <p>A thread worker (and the inline engine's logical worker) binds a fresh map to its thread when it
 * starts; a worker JVM has one map for the whole process, so a restarted JVM starts empty by construction.
 * Thread bindings win, so a thread pool nested inside a worker JVM gets its own maps.
 */
public final class WorkerStorage {
    private static final ThreadLocal<ConcurrentMap<String, Object>> THREAD = new ThreadLocal<>();
    private static final ConcurrentMap<String, Object> PROCESS = new ConcurrentHashMap<>();

    private WorkerStorage() {}

    /** The storage of the worker running the calling code. */
    public static ConcurrentMap<String, Object> current() {
        ConcurrentMap<String, Object> bound = THREAD.get();
        if (bound != null) {
            return bound;
        }
        WorkerScope scope = WorkerScope.current();
        if (!scope.inWorker()) {
            throw new IllegalStateException("Worker.storage() is only available inside a pool worker (this code runs in "
                    + scope.name() + "); keep state of the main program in your own fields");
        }
        return PROCESS;
    }

    /** Binds a fresh, empty map to the calling thread: a new worker starts here. */
    static ConcurrentMap<String, Object> bindFresh() {
        ConcurrentMap<String, Object> map = new ConcurrentHashMap<>();
        THREAD.set(map);
        return map;
    }

    /** Binds {@code map} to the calling thread (null unbinds). */
    static void bind(ConcurrentMap<String, Object> map) {
        if (map == null) {
            THREAD.remove();
        } else {
            THREAD.set(map);
        }
    }

    /** The map bound to the calling thread, or null. */
    static ConcurrentMap<String, Object> bound() {
        return THREAD.get();
    }
}
