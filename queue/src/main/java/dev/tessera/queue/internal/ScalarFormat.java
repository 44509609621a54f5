package dev.tessera.queue.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * A compact encoding for the messages a queue carries most, boxed numbers, strings and byte arrays, which
 * skips Java serialization (the bulk of a small message's cost). Stateless and thread-safe.
 *
 * <p>A message starts with a one-byte tag: {@link #TAG_INT} .. {@link #TAG_BYTES}, then the value in little-endian
 * order (a string as its UTF-8 bytes); anything else is a {@code TensorCodec} message, whose magic {@code TSC1}
 * starts with {@code 'T'} (0x54), a byte no tag uses. These values are all on the codec's default allow-list, so
 * the queue accepts nothing through this path that the codec would refuse.
 */
public final class ScalarFormat {
    static final byte TAG_INT = 1;
    static final byte TAG_LONG = 2;
    static final byte TAG_DOUBLE = 3;
    static final byte TAG_STRING = 4;
    static final byte TAG_BYTES = 5;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble DOUBLE =
            ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private ScalarFormat() {}

    /** Whether {@code value} has a compact encoding. */
    public static boolean handles(Object value) {
        return value instanceof Integer || value instanceof Long || value instanceof Double
                || value instanceof String || value instanceof byte[];
    }

    /** Bytes the compact encoding of {@code value} takes ({@link #handles} must be true). */
    public static long size(Object value) {
        return switch (value) {
            case Integer i -> 5;
            case Long l -> 9;
            case Double d -> 9;
            case String s -> 1 + (long) s.length() * 3; // an upper bound until encoded
            case byte[] b -> 1 + (long) b.length;
            default -> throw new IllegalArgumentException(value.getClass().getName());
        };
    }

    /**
     * Writes {@code value} at the start of {@code out}.
     *
     * @return the bytes written, or -1 if they do not fit {@code out}
     */
    public static int write(Object value, MemorySegment out) {
        byte[] body = switch (value) {
            case String s -> s.getBytes(StandardCharsets.UTF_8);
            case byte[] b -> b;
            default -> null;
        };
        int length = body != null ? 1 + body.length : (int) size(value);
        if (length > out.byteSize()) {
            return -1;
        }
        switch (value) {
            case Integer i -> out.set(INT, 1, i);
            case Long l -> out.set(LONG, 1, l);
            case Double d -> out.set(DOUBLE, 1, d);
            default -> MemorySegment.copy(body, 0, out, ValueLayout.JAVA_BYTE, 1, body.length);
        }
        out.set(ValueLayout.JAVA_BYTE, 0, tag(value));
        return length;
    }

    /** The size {@code value} would take, exactly (for the error message of a value that does not fit). */
    public static long exactSize(Object value) {
        return value instanceof String s ? 1 + (long) s.getBytes(StandardCharsets.UTF_8).length : size(value);
    }

    private static byte tag(Object value) {
        return switch (value) {
            case Integer i -> TAG_INT;
            case Long l -> TAG_LONG;
            case Double d -> TAG_DOUBLE;
            case String s -> TAG_STRING;
            default -> TAG_BYTES;
        };
    }

    /** Whether {@code message} is in this format (else it is a codec message). */
    public static boolean isScalar(byte[] message) {
        return message.length > 0 && isTag(message[0]);
    }

    /** Decodes a message for which {@link #isScalar} is true. */
    public static Object read(byte[] message) {
        return read(MemorySegment.ofArray(message), 0, message.length);
    }

    /**
     * Decodes the {@code length} bytes at {@code offset} of {@code region} (a queue slot: no copy of the message
     * is made first) if they are in this format.
     *
     * @return the value, or null if they are a codec message
     */
    public static Object readIfScalar(MemorySegment region, long offset, int length) {
        if (length == 0 || !isTag(region.get(ValueLayout.JAVA_BYTE, offset))) {
            return null;
        }
        return read(region, offset, length);
    }

    private static boolean isTag(byte b) {
        return b >= TAG_INT && b <= TAG_BYTES;
    }

    private static Object read(MemorySegment m, long offset, int length) {
        return switch (m.get(ValueLayout.JAVA_BYTE, offset)) {
            case TAG_INT -> m.get(INT, offset + 1);
            case TAG_LONG -> m.get(LONG, offset + 1);
            case TAG_DOUBLE -> m.get(DOUBLE, offset + 1);
            case TAG_STRING -> new String(m.asSlice(offset + 1, length - 1).toArray(ValueLayout.JAVA_BYTE),
                    StandardCharsets.UTF_8);
            default -> m.asSlice(offset + 1, length - 1).toArray(ValueLayout.JAVA_BYTE);
        };
    }
}
