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
    /**
     * Runs the task on a worker with one tuple unpacked into {@code args}.
     *
     * @param args the elements of one argument tuple, in order
     * @return the task's result
     * @throws Exception anything; the pool reports it as the cause of a {@link TaskFailedException}
     */
    R apply(Object... args) throws Exception;
}
