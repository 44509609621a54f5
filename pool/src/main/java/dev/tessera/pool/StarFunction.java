package dev.tessera.pool;

import java.io.Serializable;

/**
 * A task whose arguments come unpacked from a tuple, for {@code starmap}. Stateless by contract;
 * serialized for process pools.
 *
 * @param <R> result type
 */
@FunctionalInterface
public interface StarFunction<R> extends Serializable {
    R apply(Object... args) throws Exception;
}
