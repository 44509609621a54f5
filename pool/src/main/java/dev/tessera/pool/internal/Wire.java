package dev.tessera.pool.internal;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * Framing of the control channel between the parent and one worker JVM (a Unix domain socket).
 *
 * <pre>
 * 0       4      5          13      17                  21               25
 * +-------+------+----------+-------+-------------------+----------------+-------------+---------+-------+
 * | len   | type | id       | aux   | allow.length (int)| a.length (int) | allow UTF-8 | a bytes | b ... |
 * +-------+------+----------+-------+-------------------+----------------+-------------+---------+-------+
 *  len counts everything after itself; b runs to the end of the frame.
 * </pre>
 *
 * <p>{@code allow} is the task's allowances ({@link AllowList#allowancesFor}), empty in most frames. Messages:
 * HELLO (worker: token in a) → INIT (allow, encoded {@link WorkerInit} in a) → READY or INIT_FAILED
 * (encoded Throwable in a); then TASK (id, function id in aux, allow, function bytes in a or empty when the
 * worker holds it, arguments in b) → RESULT (encoded {@link ChunkResult} in a) or TASK_FAILED (the task
 * could not start: encoded Throwable in a, aux {@link #FUNCTION_NOT_KEPT} when the worker did not keep the
 * function); STOP ends the worker.
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
    public static final byte TASK_FAILED = 8;
    /** TASK_FAILED aux: the worker does not hold the task's function, so the parent must send it again. */
    public static final int FUNCTION_NOT_KEPT = 1;

    private static final int HEADER = 4 + 1 + 8 + 4 + 4 + 4;
    private static final int MAX_FRAME = Integer.MAX_VALUE - 64;
    private static final byte[] EMPTY = new byte[0];

    /** A received frame. */
    public record Frame(byte type, long id, int aux, String allow, byte[] a, byte[] b) {}

    private final SocketChannel channel;
    private final ByteBuffer header = ByteBuffer.allocate(HEADER);

    public Wire(SocketChannel channel) {
        this.channel = channel;
    }

    public void send(byte type, long id, int aux, byte[] a, byte[] b) throws IOException {
        send(type, id, aux, "", a, b);
    }

    /**
     * Sends one frame.
     *
     * @throws IllegalArgumentException when it exceeds the frame limit (nothing was sent)
     * @throws IOException when the channel broke
     */
    public void send(byte type, long id, int aux, String allow, byte[] a, byte[] b) throws IOException {
        byte[] s = allow.isEmpty() ? EMPTY : allow.getBytes(StandardCharsets.UTF_8);
        a = a == null ? EMPTY : a;
        b = b == null ? EMPTY : b;
        long len = (long) HEADER - 4 + s.length + a.length + b.length;
        if (len > MAX_FRAME) {
            throw new IllegalArgumentException("message of " + len + " bytes exceeds the 2 GiB frame limit; "
                    + "pass tensors as stubs or split the task");
        }
        header.clear();
        header.putInt((int) len).put(type).putLong(id).putInt(aux).putInt(s.length).putInt(a.length).flip();
        ByteBuffer[] parts = {header, ByteBuffer.wrap(s), ByteBuffer.wrap(a), ByteBuffer.wrap(b)};
        long total = HEADER + (long) s.length + a.length + b.length;
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
        int sLen = header.getInt();
        int aLen = header.getInt();
        int bLen = len - (HEADER - 4) - sLen - aLen;
        if (sLen < 0 || aLen < 0 || bLen < 0) {
            throw new IOException("corrupt frame: len=" + len + " allow.length=" + sLen + " a.length=" + aLen);
        }
        byte[] s = sLen == 0 ? EMPTY : new byte[sLen];
        byte[] a = new byte[aLen];
        byte[] b = new byte[bLen];
        readFully(ByteBuffer.wrap(s));
        readFully(ByteBuffer.wrap(a));
        readFully(ByteBuffer.wrap(b));
        return new Frame(type, id, aux, sLen == 0 ? "" : new String(s, StandardCharsets.UTF_8), a, b);
    }

    private void readFully(ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            if (channel.read(buf) < 0) {
                throw new EOFException("channel closed by the other side");
            }
        }
    }
}
