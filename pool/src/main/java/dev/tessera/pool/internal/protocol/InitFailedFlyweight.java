package dev.tessera.pool.internal.protocol;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * INIT_FAILED: the worker could not start (its initializer threw, or INIT could not be decoded); the body
 * is the encoded {@code Throwable}. Stateless; the body belongs to the caller.
 *
 * <pre>
 * +-------------------+
 * | error payload ... |
 * +-------------------+
 * </pre>
 */
public final class InitFailedFlyweight {
    private InitFailedFlyweight() {}

    /** Sends INIT_FAILED with the encoded error. */
    public static void send(MessageChannel channel, byte[] error) throws IOException {
        channel.send(MessageTypes.INIT_FAILED, ByteBuffer.allocate(0), error);
    }
}
