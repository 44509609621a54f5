package dev.tessera.tools.internal;

/**
 * Stateless: the pieces of the one-line error messages that every {@code ./tessera} command (assign, demo, shm,
 * bench) prints alike.
 */
public final class CliMessages {
    private CliMessages() {}

    /**
     * {@code s} on one line: each line break, with the spaces around it, becomes one space.
     *
     * @param s a message, or null
     * @return the message on one line ({@code "null"} for null)
     */
    public static String oneLine(String s) {
        return String.valueOf(s).replaceAll("\\s*\\R\\s*", " ");
    }

    /**
     * A failure while a command ran, on one line: what to do when the JVM ran out of memory, else the exception's
     * type and {@code message}; then, unless {@code debug}, how to see the stack trace.
     *
     * @param e the failure
     * @param message the message to show for it (usually {@code e.getMessage()})
     * @param debug whether the stack trace follows (the {@code --debug} flag)
     * @return the line, without the command's prefix
     */
    public static String failure(Throwable e, String message, boolean debug) {
        String what = e instanceof OutOfMemoryError
                ? "out of memory (" + e.getMessage() + "); give the JVM more heap, e.g. TESSERA_JAVA_OPTS=-Xmx8g"
                : e.getClass().getSimpleName() + ": " + message;
        return oneLine(what) + (debug ? "" : " (run again with --debug for the stack trace)");
    }
}
