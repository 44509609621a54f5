package dev.tessera.pool.internal;

import java.io.Serializable;

/**
 * The outcome of one chunk: for item {@code i}, either {@code errors[i] != null} (the item failed) or
 * {@code values[i]} is its result. Items fail independently, as in {@code imap}.
 */
public record ChunkResult(Object[] values, Throwable[] errors) implements Serializable {
    /** Runs {@code task} over {@code args} in order, catching each item's failure separately. */
    public static ChunkResult run(Task task, Object context, Object[] args) {
        Object[] values = new Object[args.length];
        Throwable[] errors = null;
        for (int i = 0; i < args.length; i++) {
            try {
                values[i] = task.call(context, args[i]);
            } catch (Throwable t) {
                rethrowIfFatal(t);
                if (errors == null) {
                    errors = new Throwable[args.length];
                }
                errors[i] = t;
            }
        }
        return new ChunkResult(values, errors == null ? new Throwable[args.length] : errors);
    }

    /**
     * Rethrows an error that leaves the JVM unusable (out of memory, an internal error): a crash, not a task
     * error. A {@link StackOverflowError} has unwound its stack by the time it is caught, so it fails only
     * its task, as Python's {@code RecursionError} does.
     */
    public static void rethrowIfFatal(Throwable t) {
        if (t instanceof VirtualMachineError e && !(t instanceof StackOverflowError)) {
            throw e;
        }
    }

    /** Returns the error of item {@code i}, or null. */
    public Throwable error(int i) {
        return errors[i];
    }
}
