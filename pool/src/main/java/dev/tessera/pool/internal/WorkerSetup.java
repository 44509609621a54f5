package dev.tessera.pool.internal;

import dev.tessera.pool.PoolException;
import java.util.List;

/**
 * What every worker of a pool gets when it starts: the initializer and its arguments, its own context
 * object (context pools only), and how many chunks it runs before it is replaced.
 *
 * @param initializer run once per worker before its first chunk, called as {@code call(null, initArgs)}; may be null
 * @param initArgs arguments for the initializer
 * @param contexts one context per worker slot, or null for pools without contexts
 * @param maxTasksPerChild chunks a worker runs before it is replaced; 0 means never
 */
public record WorkerSetup(Task initializer, Object[] initArgs, List<?> contexts, int maxTasksPerChild) {
    public static final WorkerSetup NONE = new WorkerSetup(null, new Object[0], null, 0);

    public Object context(int slot) {
        return contexts == null ? null : contexts.get(slot);
    }

    /** Runs the initializer in the calling thread; a failure is a {@link PoolException} naming the worker. */
    public void runInitializer() {
        if (initializer == null) {
            return;
        }
        try {
            initializer.call(null, initArgs);
        } catch (Exception e) {
            throw new PoolException("initializer failed in worker " + WorkerScope.current().name() + ": " + e, e);
        }
    }
}
