package dev.tessera.pool.internal.protocol;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * TASK, one chunk of one task for a worker. Confined to one thread; it holds the wrapped body, which the
 * caller owns.
 *
 * <pre>
 * 0               8            12           16            20               24
 * +---------------+------------+------------+-------------+----------------+
 * | correlationId | functionId | evictCount | allowLength | functionLength |
 * +---------------+------------+------------+-------------+----------------+
 * | evicted function ids (4 bytes each) | allowances (UTF-8) | function | arguments ... |
 * +-------------------------------------+--------------------+----------+---------------+
 * </pre>
 *
 * <p>Function ids belong to the parent: it assigns them, and when its table evicts one it lists that id
 * under "evicted" in the next TASK, so the worker drops exactly the functions the parent forgot and
 * nothing else. {@code functionLength} is 0 when the worker already holds {@code functionId};
 * {@code functionId} is {@link #UNCACHED} for a function the worker runs once without keeping it.
 */
public final class TaskFlyweight {
    /** Function id of a function the worker must not keep. */
    public static final int UNCACHED = -1;

    private static final int CORRELATION_ID = 0;
    private static final int FUNCTION_ID = 8;
    private static final int EVICT_COUNT = 12;
    private static final int ALLOW_LENGTH = 16;
    private static final int FUNCTION_LENGTH = 20;
    private static final int FIELDS = 24;
    private static final byte[] NONE = new byte[0];

    private ByteBuffer fields;
    private byte[] body;

    /**
     * Sends one TASK.
     *
     * @param function the encoded function, or null when the worker holds {@code functionId}
     * @throws IllegalArgumentException when the message exceeds the frame limit (nothing was sent)
     */
    public static void send(MessageChannel channel, long correlationId, int functionId, int[] evicted,
            String allowances, byte[] function, byte[] arguments) throws IOException {
        byte[] allow = allowances.isEmpty() ? NONE : allowances.getBytes(StandardCharsets.UTF_8);
        byte[] fn = function == null ? NONE : function;
        ByteBuffer fields = ByteBuffer.allocate(FIELDS + 4 * evicted.length);
        fields.putLong(correlationId).putInt(functionId).putInt(evicted.length).putInt(allow.length).putInt(fn.length);
        for (int id : evicted) {
            fields.putInt(id);
        }
        channel.send(MessageTypes.TASK, fields.flip(), allow, fn, arguments);
    }

    /** Wraps a received TASK body; {@link IOException} when its lengths do not fit it. */
    public TaskFlyweight wrap(byte[] body) throws IOException {
        if (body.length < FIELDS) {
            throw new IOException("corrupt TASK: " + body.length + " bytes (expected >= " + FIELDS + ")");
        }
        ByteBuffer f = ByteBuffer.wrap(body);
        long evict = f.getInt(EVICT_COUNT);
        long allow = f.getInt(ALLOW_LENGTH);
        long fn = f.getInt(FUNCTION_LENGTH);
        if (evict < 0 || allow < 0 || fn < 0 || FIELDS + 4 * evict + allow + fn > body.length) {
            throw new IOException("corrupt TASK: evictCount=" + evict + " allowLength=" + allow + " functionLength="
                    + fn + " in a body of " + body.length + " bytes");
        }
        this.body = body;
        this.fields = f;
        return this;
    }

    public long correlationId() {
        return fields.getLong(CORRELATION_ID);
    }

    public int functionId() {
        return fields.getInt(FUNCTION_ID);
    }

    /** The ids of the functions the worker must drop before it runs this task. */
    public int[] evictedFunctionIds() {
        int[] ids = new int[fields.getInt(EVICT_COUNT)];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = fields.getInt(FIELDS + 4 * i);
        }
        return ids;
    }

    public String allowances() {
        return new String(body, allowOffset(), fields.getInt(ALLOW_LENGTH), StandardCharsets.UTF_8);
    }

    public byte[] body() {
        return body;
    }

    /** Whether the function travels in this message (else the worker holds {@link #functionId()}). */
    public boolean carriesFunction() {
        return functionLength() > 0;
    }

    public int functionOffset() {
        return allowOffset() + fields.getInt(ALLOW_LENGTH);
    }

    public int functionLength() {
        return fields.getInt(FUNCTION_LENGTH);
    }

    public int argumentsOffset() {
        return functionOffset() + functionLength();
    }

    public int argumentsLength() {
        return body.length - argumentsOffset();
    }

    private int allowOffset() {
        return FIELDS + 4 * fields.getInt(EVICT_COUNT);
    }
}
