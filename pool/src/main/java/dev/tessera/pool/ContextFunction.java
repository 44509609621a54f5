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
    R apply(C context, T arg) throws Exception;
}
