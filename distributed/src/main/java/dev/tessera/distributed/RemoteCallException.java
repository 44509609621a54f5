package dev.tessera.distributed;

import dev.tessera.distributed.internal.RemoteTrace;

/**
 * An immutable, thread-safe report (holding no resources) that a function or service that ran in another member
 * threw. The
 * remote exception's class name, message and stack trace come back (whatever its class, serializable or not):
 * {@link #remoteType()}, {@link #remoteMessage()}, and the cause, whose stack trace is the remote one (and whose
 * causes are the remote causes), so a printed trace shows both sides.
 */
public final class RemoteCallException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** The member the exception was thrown in. */
    private final String member;
    /** The class name of the remote exception. */
    private final String remoteType;
    /** The message of the remote exception, or null. */
    private final String remoteMessage;

    RemoteCallException(String member, String what, RemoteTrace remote) {
        super(what + " threw in member '" + member + "': " + remote.remoteType()
                + (remote.remoteMessage() == null ? "" : ": " + remote.remoteMessage()), remote);
        this.member = member;
        this.remoteType = remote.remoteType();
        this.remoteMessage = remote.remoteMessage();
    }

    /**
     * The member the exception was thrown in.
     *
     * @return its name
     */
    public String member() {
        return member;
    }

    /**
     * The class name of the remote exception, such as {@code java.lang.IllegalStateException}.
     *
     * @return the fully qualified name
     */
    public String remoteType() {
        return remoteType;
    }

    /**
     * The message of the remote exception.
     *
     * @return the message, or null if it had none
     */
    public String remoteMessage() {
        return remoteMessage;
    }

    /**
     * The remote stack trace (that of the cause).
     *
     * @return a copy of the frames, innermost first
     */
    public StackTraceElement[] remoteStackTrace() {
        return getCause().getStackTrace();
    }
}
