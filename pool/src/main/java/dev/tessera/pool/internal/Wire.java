package dev.tessera.pool.internal;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * Framing of the control channel between the parent and one worker JVM (a Unix domain socket).
 *
 * <pre>
 * 0       4      5          13      17
 * +-------+------+----------+-------+----------------+-----------------+
 * | len   | type | id       | aux   | a.length (int) | a bytes | b ... |
 * +-------+------+----------+-------+----------------+-----------------+
 *  len counts everything after itself; b runs to the end of the frame.
 * </pre>
 *
 * One reader and one writer per side at a time: the parent's driver thread both writes and reads, the
 * worker's main thread likewise, so no locking is needed.
 */
public final class Wire {
    public static final byte HELLO = 1;
    public static final byte INIT = 2;
    public static final byte READY = 3;
    public static final byte INIT_FAILED = 4;
    public static final byte TASK = 5;
    public static final byte RESULT = 6;
    public static final byte STOP = 7;

    private static final int HEADER = 4 + 1 + 8 + 4 + 4;
    private static final int MAX_FRAME = Integer.MAX_VALUE - 64;
    private static final byte[] EMPTY = new byte[0];

    /** A received frame. */
    public record Frame(byte type, long id, int aux, byte[] a, byte[] b) {}

    private final SocketChannel channel;
    private final ByteBuffer header = ByteBuffer.allocate(HEADER);

    public Wire(SocketChannel channel) {
        this.channel = channel;
    }

    public void send(byte type, long id, int aux, byte[] a, byte[] b) throws IOException {
        a = a == null ? EMPTY : a;
        b = b == null ? EMPTY : b;
        long len = (long) HEADER - 4 + a.length + b.length;
        if (len > MAX_FRAME) {
            throw new IOException("message of " + len + " bytes exceeds the 2 GiB frame limit; pass tensors as stubs");
        }
        header.clear();
        header.putInt((int) len).put(type).putLong(id).putInt(aux).putInt(a.length).flip();
        ByteBuffer[] parts = {header, ByteBuffer.wrap(a), ByteBuffer.wrap(b)};
        long total = HEADER + (long) a.length + b.length;
        long written = 0;
        while (written < total) {
            written += channel.write(parts);
        }
    }

    /** Blocks for the next frame; {@link EOFException} when the peer closed the channel. */
    public Frame receive() throws IOException {
        header.clear();
        readFully(header);
        header.flip();
        int len = header.getInt();
        byte type = header.get();
        long id = header.getLong();
        int aux = header.getInt();
        int aLen = header.getInt();
        int bLen = len - (HEADER - 4) - aLen;
        if (aLen < 0 || bLen < 0) {
            throw new IOException("corrupt frame: len=" + len + " a.length=" + aLen);
        }
        byte[] a = new byte[aLen];
        byte[] b = new byte[bLen];
        readFully(ByteBuffer.wrap(a));
        readFully(ByteBuffer.wrap(b));
        return new Frame(type, id, aux, a, b);
    }

    private void readFully(ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            if (channel.read(buf) < 0) {
                throw new EOFException("channel closed by the other side");
            }
        }
    }
}
