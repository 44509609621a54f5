package dev.tessera.pool;

import java.io.Serializable;

/**
 * Runs once in each worker before its first task, like {@code multiprocessing.Pool(initializer=...)};
 * runs again in every replacement worker. Serialized for process pools.
 */
@FunctionalInterface
public interface Initializer extends Serializable {
    /**
     * Prepares the calling worker (thread-locals, a model, a device).
     *
     * @param initArgs the pool's {@code initArgs}, in order (empty by default)
     * @throws Exception anything; the worker does not start and the pool reports a {@link PoolException}
     */
    void init(Object... initArgs) throws Exception;
}
