package dev.tessera.pool;

import java.io.Serializable;

/**
 * Runs once in each worker before its first task, like {@code multiprocessing.Pool(initializer=...)};
 * runs again in every replacement worker. Serialized for process pools.
 */
@FunctionalInterface
public interface Initializer extends Serializable {
    void init(Object... initArgs) throws Exception;
}
