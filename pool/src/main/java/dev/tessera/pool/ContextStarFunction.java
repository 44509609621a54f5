package dev.tessera.pool;

import java.io.Serializable;

/**
 * A task for a context pool's {@code starmap}: it receives the context object owned by the worker that
 * runs it, then the arguments unpacked from one tuple. The context is confined to that worker; the task
 * must not publish it to other threads. Serialized for process pools.
 *
 * @param <C> context type
 * @param <R> result type
 */
@FunctionalInterface
public interface ContextStarFunction<C, R> extends Serializable {
    /**
     * Runs the task on a worker with one tuple unpacked into {@code args}.
     *
     * @param context the context owned by the worker running the task
     * @param args the elements of one argument tuple, in order
     * @return the task's result
     * @throws Exception anything; the pool reports it as the cause of a {@link TaskFailedException}
     */
    R apply(C context, Object... args) throws Exception;
}
