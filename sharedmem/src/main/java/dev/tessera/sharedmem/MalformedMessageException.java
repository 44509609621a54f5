package dev.tessera.sharedmem;

/**
 * Thrown when a {@link TensorCodec} message (or a {@link dev.tessera.sharedmem.store.SharedStore} value) cannot be decoded: it is malformed
 * or truncated, declares more than its bytes hold, exceeds one of the codec's decoding limits, holds a class
 * the allow-list rejects, or names a tensor stub that cannot be opened. Immutable; it owns nothing, and by the
 * time it is thrown everything the failed decode had created is released.
 *
 * <p>It is the one exception that decoding reports for what a message says: {@code decode} and
 * {@code SharedStore.get} convert every other failure that input can provoke (an {@code OutOfMemoryError}, a
 * {@code ClassCastException} from a forged stream, a buffer underflow, ...) into it at the boundary. When a
 * limit was hit, {@link #limit()} names the builder option ({@code "maxArrayLength"}, ...) and the message
 * carries the limit, the offending value and the option to raise.
 */
public final class MalformedMessageException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /** The exceeded limit's option name, or null. */
    private final String limit;
    /** What the allow-list rejected ({@code "class com.example.Point"}), or null. */
    private final String rejected;
    /** The allow pattern that would admit it, or null. */
    private final String allowPattern;

    /**
     * A malformed message, not a limit.
     *
     * @param message what was wrong and what the caller can do
     * @param cause the underlying failure, or null
     */
    public MalformedMessageException(String message, Throwable cause) {
        this(message, null, cause);
    }

    /**
     * A message that was malformed or exceeded a decoding limit.
     *
     * @param message what was wrong and what the caller can do
     * @param limit the limit's option name without {@code opt} ({@code "maxDepth"}), or null
     * @param cause the underlying failure, or null
     */
    public MalformedMessageException(String message, String limit, Throwable cause) {
        this(message, limit, null, null, cause);
    }

    private MalformedMessageException(String message, String limit, String rejected, String allowPattern,
            Throwable cause) {
        super(message, cause);
        this.limit = limit;
        this.rejected = rejected;
        this.allowPattern = allowPattern;
    }

    /**
     * A message that holds a class the allow-list rejects.
     *
     * @param message what was wrong and what the caller can do
     * @param rejected what was rejected ({@code "class com.example.Point"})
     * @param allowPattern the allow pattern that would admit it ({@code "com.example.**"})
     * @param cause the underlying failure, or null
     * @return the exception
     */
    public static MalformedMessageException rejected(String message, String rejected, String allowPattern,
            Throwable cause) {
        return new MalformedMessageException(message, null, rejected, allowPattern, cause);
    }

    /**
     * The decoding limit that was exceeded.
     *
     * @return the option name ({@code "maxReferences"}, ...), or null if no limit was exceeded
     */
    public String limit() {
        return limit;
    }

    /**
     * What the allow-list rejected, for a caller that reports it in its own terms.
     *
     * @return {@code "class com.example.Point"} or the like, or null if no class was rejected
     */
    public String rejected() {
        return rejected;
    }

    /**
     * The allow pattern that would admit {@link #rejected()}.
     *
     * @return a pattern such as {@code "com.example.**"}, or null if no class was rejected
     */
    public String allowPattern() {
        return allowPattern;
    }
}
