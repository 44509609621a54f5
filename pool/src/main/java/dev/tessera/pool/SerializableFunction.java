package dev.tessera.pool;

import java.io.Serializable;

/**
 * A task of one argument. Stateless by contract: a process pool serializes it (a lambda works when the
 * worker JVM has the same classpath, which a {@link ProcessPool} guarantees), so anything it captures
 * must be {@link Serializable} too.
 *
 * @param <T> argument type
 * @param <R> result type
 */
@FunctionalInterface
public interface SerializableFunction<T, R> extends Serializable {
    /**
     * Runs the task on a worker.
     *
     * @param arg the task's argument
     * @return the task's result
     * @throws Exception anything; the pool reports it as the cause of a {@link TaskFailedException}
     */
    R apply(T arg) throws Exception;
}
