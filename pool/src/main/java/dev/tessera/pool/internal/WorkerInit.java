package dev.tessera.pool.internal;

import java.io.Serializable;

/**
 * The first message to a new worker JVM: who it is and what it runs before its first task.
 *
 * @param scope the worker's name, slot, nesting depth and CPU budget
 * @param initializer may be null
 * @param initArgs arguments of the initializer
 * @param context the worker's context object (context pools), or null
 */
record WorkerInit(WorkerScope scope, Task initializer, Object[] initArgs, Object context) implements Serializable {}
