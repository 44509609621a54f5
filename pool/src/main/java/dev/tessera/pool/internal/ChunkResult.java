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
            } catch (VirtualMachineError e) {
                throw e; // a broken JVM is a crash, not a task error
            } catch (Throwable t) {
                if (errors == null) {
                    errors = new Throwable[args.length];
                }
                errors[i] = t;
            }
        }
        return new ChunkResult(values, errors == null ? new Throwable[args.length] : errors);
    }

    /** Returns the error of item {@code i}, or null. */
    public Throwable error(int i) {
        return errors[i];
    }
}
