package dev.tessera.pool;

import java.io.Serializable;

/**
 * A task for a context pool: it receives the context object owned by the worker that runs it, then
 * its argument. The context is confined to that worker; the task must not publish it to other threads.
 *
 * @param <C> context type
 * @param <T> argument type
 * @param <R> result type
 */
@FunctionalInterface
public interface ContextFunction<C, T, R> extends Serializable {
    /**
     * Runs the task on a worker. Any exception it throws reaches the caller wrapped in a
     * {@link TaskFailedException}.
     *
     * @param context the context owned by the worker running the task
     * @param arg the task's argument
     * @return the task's result, serialized back to the caller for process pools
     * @throws Exception anything; the pool reports it as the cause of a {@link TaskFailedException}
     */
    R apply(C context, T arg) throws Exception;
}
