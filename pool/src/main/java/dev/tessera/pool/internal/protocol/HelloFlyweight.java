package dev.tessera.pool.internal.protocol;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * HELLO, the worker's first message: the pool's random token, which proves the peer is the JVM the pool
 * started. Confined to one thread; it holds the wrapped body, which the caller owns.
 *
 * <pre>
 * +---------------+
 * | token (UTF-8) |
 * +---------------+
 * </pre>
 */
public final class HelloFlyweight {
    private byte[] body;

    /** Sends HELLO with {@code token}. */
    public static void send(MessageChannel channel, String token) throws IOException {
        channel.send(MessageTypes.HELLO, ByteBuffer.allocate(0), token.getBytes(StandardCharsets.UTF_8));
    }

    /** Wraps a received HELLO body. */
    public HelloFlyweight wrap(byte[] body) {
        this.body = body;
        return this;
    }

    public String token() {
        return new String(body, StandardCharsets.UTF_8);
    }
}
