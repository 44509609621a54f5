package dev.tessera.distributed.internal;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * One message between World members, requests and replies alike. Immutable.
 *
 * <pre>
 *   kind:u8 | op:u8 | id:i64 | group | key | allowances | payload (the rest: a TensorCodec message, or nothing)
 *   where a string is  length:i32 | UTF-8 bytes
 * </pre>
 * {@code allowances} are the allow-list patterns the payload needs beyond the World's ({@link PayloadCodec}); they
 * are checked by the receiver before use.
 */
public record Frame(byte kind, byte op, long id, String group, String key, String allowances, byte[] payload) {
    /** Run a function; the reply holds its result. */
    public static final byte CALL = 1;
    /** Run a function and keep its result here; the reply holds the reference's id. */
    public static final byte REMOTE = 2;
    /** Fetch the value of reference {@code id}. */
    public static final byte FETCH = 3;
    /** Forget reference {@code id}. */
    public static final byte RELEASE = 4;
    /** Call registered service {@code key}; the reply holds its result. */
    public static final byte SERVICE = 5;
    /** Call registered service {@code key} and keep its result here; the reply holds the reference's id. */
    public static final byte SERVICE_REMOTE = 6;
    /** A change to the replicated key table, multicast in total order; {@code op} says which. */
    public static final byte TABLE = 7;
    /** Arrival at barrier number {@code id} of a group. */
    public static final byte BARRIER = 8;
    /** A reply: the payload is the value (or empty), {@code id} a reference id. */
    public static final byte OK = 9;
    /** A reply: the payload is a {@link Failures} description of the remote exception. */
    public static final byte FAILED = 10;

    public Frame {
        group = group == null ? "" : group;
        key = key == null ? "" : key;
        allowances = allowances == null ? "" : allowances;
        payload = payload == null ? new byte[0] : payload;
    }

    /** A frame of this kind with no op, key, allowances or payload. */
    public static Frame of(byte kind, long id, String group) {
        return new Frame(kind, (byte) 0, id, group, "", "", null);
    }

    /** This frame with an encoded payload and its allowances. */
    public Frame with(PayloadCodec.Encoded e) {
        return new Frame(kind, op, id, group, key, e.allowances(), e.bytes());
    }

    /** The frame's bytes. */
    public byte[] toBytes() {
        byte[] g = group.getBytes(StandardCharsets.UTF_8);
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        byte[] a = allowances.getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(2 + 8 + 3 * 4 + g.length + k.length + a.length + payload.length);
        out.put(kind).put(op).putLong(id);
        out.putInt(g.length).put(g).putInt(k.length).put(k).putInt(a.length).put(a);
        return out.put(payload).array();
    }

    /**
     * Parses a frame.
     *
     * @throws IllegalArgumentException if the bytes are not a frame
     */
    public static Frame parse(byte[] buf, int offset, int length) {
        ByteBuffer in = ByteBuffer.wrap(buf, offset, length);
        try {
            byte kind = in.get();
            if (kind < CALL || kind > FAILED) {
                throw new IllegalArgumentException("not a Tessera frame: kind " + kind);
            }
            byte op = in.get();
            long id = in.getLong();
            String group = string(in);
            String key = string(in);
            String allowances = string(in);
            byte[] payload = new byte[in.remaining()];
            in.get(payload);
            return new Frame(kind, op, id, group, key, allowances, payload);
        } catch (BufferUnderflowException | IndexOutOfBoundsException e) {
            throw new IllegalArgumentException("truncated Tessera frame of " + length + " bytes", e);
        }
    }

    private static String string(ByteBuffer in) {
        int n = in.getInt();
        if (n < 0 || n > in.remaining()) {
            throw new IllegalArgumentException("a Tessera frame declares a string of " + n + " bytes, but "
                    + in.remaining() + " remain");
        }
        String s = new String(in.array(), in.arrayOffset() + in.position(), n, StandardCharsets.UTF_8);
        in.position(in.position() + n);
        return s;
    }

    @Override
    public String toString() {
        return "Frame[kind=" + kind + ", op=" + op + ", id=" + id + ", group=" + group + ", key=" + key + ", "
                + payload.length + " payload bytes]";
    }
}
