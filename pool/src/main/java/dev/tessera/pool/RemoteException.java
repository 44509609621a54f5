package dev.tessera.pool;

/**
 * Stands in for an exception thrown in a worker JVM that could not be serialized back: it keeps the
 * original class name, message and remote stack trace. Immutable.
 */
public final class RemoteException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** Fully qualified class name of the exception thrown in the worker. */
    private final String remoteType;

    /**
     * A stand-in built from the parts of the original exception; {@link #of(Throwable)} does this for a whole chain.
     *
     * @param remoteType class name of the original exception; the message becomes {@code "type: message"}
     * @param message the original message, or null
     * @param remoteStack the original stack trace, set as this exception's stack trace
     * @param cause the original cause, converted the same way, or null
     */
    public RemoteException(String remoteType, String message, StackTraceElement[] remoteStack, RemoteException cause) {
        super(remoteType + (message == null ? "" : ": " + message), cause);
        this.remoteType = remoteType;
        setStackTrace(remoteStack);
    }

    /** Class name of the exception thrown in the worker. */
    public String remoteType() {
        return remoteType;
    }

    /** Copies {@code t} and its causes into RemoteExceptions (which only hold strings, so always serialize). */
    public static RemoteException of(Throwable t) {
        RemoteException cause = t.getCause() == null || t.getCause() == t ? null : of(t.getCause());
        return new RemoteException(t.getClass().getName(), t.getMessage(), t.getStackTrace(), cause);
    }
}
