package dev.tessera.pool.internal.protocol;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * INIT, the parent's first message to a worker: the encoded worker start-up (scope, initializer and its
 * arguments, context) and the allowances its decoding needs. Confined to one thread; it holds the wrapped
 * body, which the caller owns.
 *
 * <pre>
 * 0                4
 * +----------------+------------------------+------------------+
 * | allowLength    | allowances (UTF-8)     | payload ...      |
 * +----------------+------------------------+------------------+
 * </pre>
 */
public final class InitFlyweight {
    private static final int ALLOW_LENGTH = 0;
    private static final int FIELDS = 4;

    private byte[] body;
    private int allowLength;

    /** Sends INIT. */
    public static void send(MessageChannel channel, String allowances, byte[] payload) throws IOException {
        byte[] allow = allowances.getBytes(StandardCharsets.UTF_8);
        ByteBuffer fields = ByteBuffer.allocate(FIELDS).putInt(ALLOW_LENGTH, allow.length);
        channel.send(MessageTypes.INIT, fields, allow, payload);
    }

    /** Wraps a received INIT body; {@link IOException} when its lengths do not fit it. */
    public InitFlyweight wrap(byte[] body) throws IOException {
        if (body.length < FIELDS) {
            throw new IOException("corrupt INIT: " + body.length + " bytes (expected >= " + FIELDS + ")");
        }
        int n = ByteBuffer.wrap(body).getInt(ALLOW_LENGTH);
        if (n < 0 || n > body.length - FIELDS) {
            throw new IOException("corrupt INIT: allowLength=" + n + " in a body of " + body.length + " bytes");
        }
        this.body = body;
        this.allowLength = n;
        return this;
    }

    public String allowances() {
        return new String(body, FIELDS, allowLength, StandardCharsets.UTF_8);
    }

    public byte[] body() {
        return body;
    }

    public int payloadOffset() {
        return FIELDS + allowLength;
    }

    public int payloadLength() {
        return body.length - payloadOffset();
    }
}
