package dev.tessera.pool.internal.protocol;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * Frames messages on the control channel between the parent and one worker JVM (a Unix domain socket).
 * Confined: one reader and one writer at a time per side (the parent's driver thread, the worker's main
 * thread); the caller owns the socket and closes it.
 *
 * <pre>
 * 0        4      5
 * +--------+------+----------------------------------+
 * | length | type | body (laid out by the type's flyweight) |
 * +--------+------+----------------------------------+
 *  length counts the type byte and the body.
 * </pre>
 *
 * A body is sent as its fixed fields (a flyweight's buffer) followed by its variable parts, in one
 * gathering write and without copying them; it is received into one array that the type's flyweight
 * wraps.
 */
public final class MessageChannel {
    /** The largest frame: a {@code byte[]} must hold the body. */
    static final long MAX_FRAME = Integer.MAX_VALUE - 64;
    private static final int PREFIX = 4 + 1;
    private static final ByteBuffer NO_FIELDS = ByteBuffer.allocate(0);

    /** A received message: its type code and its body. */
    public record Frame(byte type, byte[] body) {}

    private final SocketChannel channel;
    private final ByteBuffer prefix = ByteBuffer.allocate(PREFIX);

    public MessageChannel(SocketChannel channel) {
        this.channel = channel;
    }

    /** Sends a message without a body (READY, STOP). */
    public void send(byte type) throws IOException {
        send(type, NO_FIELDS);
    }

    /**
     * Sends one message: {@code fields} from its position to its limit, then each of {@code parts}.
     *
     * @throws IllegalArgumentException when it exceeds the frame limit (nothing was sent)
     * @throws IOException when the channel broke
     */
    public void send(byte type, ByteBuffer fields, byte[]... parts) throws IOException {
        long length = 1L + fields.remaining();
        for (byte[] p : parts) {
            length += p.length;
        }
        if (length > MAX_FRAME) {
            throw new IllegalArgumentException("message of " + length + " bytes exceeds the 2 GiB frame limit; "
                    + "pass tensors as stubs or split the task");
        }
        prefix.clear();
        prefix.putInt((int) length).put(type).flip();
        ByteBuffer[] buffers = new ByteBuffer[parts.length + 2];
        buffers[0] = prefix;
        buffers[1] = fields;
        for (int i = 0; i < parts.length; i++) {
            buffers[i + 2] = ByteBuffer.wrap(parts[i]);
        }
        long total = length + 4;
        long written = 0;
        while (written < total) {
            written += channel.write(buffers);
        }
    }

    /** Blocks for the next message; {@link EOFException} when the peer closed the channel. */
    public Frame receive() throws IOException {
        prefix.clear();
        readFully(prefix);
        prefix.flip();
        int length = prefix.getInt();
        byte type = prefix.get();
        if (length < 1) {
            throw new IOException("corrupt frame: length=" + length + " (expected >= 1)");
        }
        byte[] body = new byte[length - 1];
        readFully(ByteBuffer.wrap(body));
        return new Frame(type, body);
    }

    private void readFully(ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            if (channel.read(buf) < 0) {
                throw new EOFException("channel closed by the other side");
            }
        }
    }
}
