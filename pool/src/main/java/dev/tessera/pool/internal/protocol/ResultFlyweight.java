package dev.tessera.pool.internal.protocol;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * RESULT, a worker's answer to a TASK: the encoded outcome of every item of the chunk. Confined to one
 * thread; it holds the wrapped body, which the caller owns.
 *
 * <pre>
 * 0                 8
 * +-----------------+---------------------+
 * | correlationId   | result payload ...  |
 * +-----------------+---------------------+
 * </pre>
 */
public final class ResultFlyweight {
    private static final int CORRELATION_ID = 0;
    private static final int FIELDS = 8;

    private byte[] body;

    /** Sends RESULT for the chunk {@code correlationId}. */
    public static void send(MessageChannel channel, long correlationId, byte[] result) throws IOException {
        channel.send(MessageTypes.RESULT, ByteBuffer.allocate(FIELDS).putLong(CORRELATION_ID, correlationId), result);
    }

    /** Wraps a received RESULT body; {@link IOException} when it is too short. */
    public ResultFlyweight wrap(byte[] body) throws IOException {
        if (body.length < FIELDS) {
            throw new IOException("corrupt RESULT: " + body.length + " bytes (expected >= " + FIELDS + ")");
        }
        this.body = body;
        return this;
    }

    public long correlationId() {
        return ByteBuffer.wrap(body).getLong(CORRELATION_ID);
    }

    public byte[] body() {
        return body;
    }

    public int payloadOffset() {
        return FIELDS;
    }

    public int payloadLength() {
        return body.length - FIELDS;
    }
}
