package dev.tessera.pool;

/**
 * A task threw. Immutable. The cause is the exception the task threw, with its own type and the stack
 * trace from the worker (thread or JVM) where it was thrown; when that exception could not be sent back
 * from a worker JVM it is replaced by a {@link RemoteException} carrying its class name, message and
 * remote stack trace.
 */
public class TaskFailedException extends PoolException {
    private static final long serialVersionUID = 1L;

    /**
     * A failure of one task; the pools create these around the task's exception.
     *
     * @param message which task failed, in which worker, and the exception's type and message
     * @param cause the exception the task threw (or its {@link RemoteException} stand-in)
     */
    public TaskFailedException(String message, Throwable cause) {
        super(message, cause);
    }

    /** Class name of the exception the task threw (the remote one for a {@link RemoteException}); "unknown" without a cause. */
    public String remoteType() {
        Throwable c = getCause();
        if (c instanceof RemoteException r) {
            return r.remoteType();
        }
        return c == null ? "unknown" : c.getClass().getName();
    }
}
