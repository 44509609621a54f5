package dev.tessera.distributed.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * One message between World members, requests and replies alike. Immutable.
 *
 * <pre>
 *   kind:u8 | op:u8 | id:i64 | group:utf | key:utf | allowances:utf | payload (the rest: a TensorCodec message,
 *                                                                              or nothing)
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
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(32 + payload.length);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(kind);
            out.writeByte(op);
            out.writeLong(id);
            out.writeUTF(group);
            out.writeUTF(key);
            out.writeUTF(allowances);
            out.write(payload);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /**
     * Parses a frame.
     *
     * @throws IllegalArgumentException if the bytes are not a frame
     */
    public static Frame parse(byte[] buf, int offset, int length) {
        ByteArrayInputStream bytes = new ByteArrayInputStream(buf, offset, length);
        try (DataInputStream in = new DataInputStream(bytes)) {
            byte kind = in.readByte();
            if (kind < CALL || kind > FAILED) {
                throw new IllegalArgumentException("not a Tessera frame: kind " + kind);
            }
            byte op = in.readByte();
            long id = in.readLong();
            String group = in.readUTF();
            String key = in.readUTF();
            String allowances = in.readUTF();
            return new Frame(kind, op, id, group, key, allowances, in.readAllBytes());
        } catch (IOException e) {
            throw new IllegalArgumentException("truncated Tessera frame of " + length + " bytes", e);
        }
    }

    @Override
    public String toString() {
        return "Frame[kind=" + kind + ", op=" + op + ", id=" + id + ", group=" + group + ", key=" + key + ", "
                + payload.length + " payload bytes]";
    }
}
