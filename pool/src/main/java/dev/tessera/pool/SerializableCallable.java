package dev.tessera.pool;

import java.io.Serializable;

/**
 * A task without arguments, like joblib's {@code delayed(f)(x)}. Stateless by contract; serialized
 * for process pools, so what it captures must be {@link Serializable}.
 *
 * @param <R> result type
 */
@FunctionalInterface
public interface SerializableCallable<R> extends Serializable {
    /**
     * Runs the task on a worker.
     *
     * @return the task's result
     * @throws Exception anything; the pool reports it as the cause of a {@link TaskFailedException}
     */
    R call() throws Exception;
}
