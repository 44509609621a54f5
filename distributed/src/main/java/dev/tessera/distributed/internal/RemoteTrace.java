package dev.tessera.distributed.internal;

/**
 * Stands in for one exception of a chain thrown in another member: its class name and message, with the remote
 * stack trace as its own, so that a printed trace shows where it failed over there. Immutable.
 */
public final class RemoteTrace extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String remoteType;
    private final String remoteMessage;

    RemoteTrace(String member, String remoteType, String remoteMessage, StackTraceElement[] trace, RemoteTrace cause) {
        super("[" + member + "] " + remoteType + (remoteMessage == null ? "" : ": " + remoteMessage), cause, false,
                true);
        this.remoteType = remoteType;
        this.remoteMessage = remoteMessage;
        setStackTrace(trace);
    }

    /** The class name of the remote exception. */
    public String remoteType() {
        return remoteType;
    }

    /** The message of the remote exception, or null. */
    public String remoteMessage() {
        return remoteMessage;
    }
}
