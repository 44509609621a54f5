package dev.tessera.pool.internal.protocol;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * TASK_FAILED, a worker's answer to a TASK that could not start: the reason and the encoded
 * {@code Throwable}. Confined to one thread; it holds the wrapped body, which the caller owns.
 *
 * <pre>
 * 0                 8          12
 * +-----------------+----------+--------------------+
 * | correlationId   | reason   | error payload ...  |
 * +-----------------+----------+--------------------+
 * </pre>
 */
public final class TaskFailedFlyweight {
    /** Reason: the function could not be decoded; the worker did not keep it. */
    public static final int FUNCTION_UNDECODABLE = 0;
    /** Reason: the arguments could not be decoded; the worker kept the function if the TASK carried one. */
    public static final int ARGUMENTS_UNDECODABLE = 2;
    /**
     * Reason: the TASK named a function id the worker does not hold (the parent's table and the worker's
     * disagree); the parent forgets the id and sends the function again.
     */
    public static final int UNKNOWN_FUNCTION = 1;

    private static final int CORRELATION_ID = 0;
    private static final int REASON = 8;
    private static final int FIELDS = 12;

    private byte[] body;

    /** Sends TASK_FAILED for the chunk {@code correlationId}. */
    public static void send(MessageChannel channel, long correlationId, int reason, byte[] error) throws IOException {
        ByteBuffer fields = ByteBuffer.allocate(FIELDS).putLong(CORRELATION_ID, correlationId).putInt(REASON, reason);
        channel.send(MessageTypes.TASK_FAILED, fields, error);
    }

    /** Wraps a received TASK_FAILED body; {@link IOException} when it is too short. */
    public TaskFailedFlyweight wrap(byte[] body) throws IOException {
        if (body.length < FIELDS) {
            throw new IOException("corrupt TASK_FAILED: " + body.length + " bytes (expected >= " + FIELDS + ")");
        }
        this.body = body;
        return this;
    }

    public long correlationId() {
        return ByteBuffer.wrap(body).getLong(CORRELATION_ID);
    }

    public int reason() {
        return ByteBuffer.wrap(body).getInt(REASON);
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
