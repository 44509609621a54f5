package dev.tessera.pool.internal;

import java.io.Serializable;

/**
 * The one shape of work the engine runs: a serializable function of the worker's context and one
 * argument. Every public task type ({@code SerializableFunction}, {@code ContextFunction}, ...) is
 * adapted to this, so the engine has a single code path.
 */
@FunctionalInterface
public interface Task extends Serializable {
    /** Runs the task for one argument; {@code context} is null outside context pools. */
    Object call(Object context, Object arg) throws Exception;
}
