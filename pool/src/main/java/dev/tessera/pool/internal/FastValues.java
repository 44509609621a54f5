package dev.tessera.pool.internal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A compact binary form for the common case of many tiny tasks: an argument array, or a chunk result
 * without errors, whose elements are all null, boxed primitives or strings. One tag byte per element
 * and the raw value; no class descriptors, no stream set-up, nothing to filter (only these fixed types
 * can be decoded). Anything else returns null from {@link #encode} and goes through Java serialization.
 * Stateless and thread-safe.
 *
 * <pre>
 * array:  kind(1) count(4) { tag(1) value }...
 * value:  null: -, Integer: 4, Long: 8, Double: 8, Float: 4, Boolean: 1, Short: 2, Byte: 1,
 *         Character: 2, String: length(4) + UTF-8 bytes
 * </pre>
 */
final class FastValues {
    static final byte ARGS = 2;
    static final byte RESULT = 3;

    private static final byte NULL = 0;
    private static final byte INT = 1;
    private static final byte LONG = 2;
    private static final byte DOUBLE = 3;
    private static final byte FLOAT = 4;
    private static final byte BOOL = 5;
    private static final byte STRING = 6;
    private static final byte SHORT = 7;
    private static final byte BYTE = 8;
    private static final byte CHAR = 9;

    private FastValues() {}

    /** Encodes {@code Object[]} or an error-free {@link ChunkResult} of simple values, or returns null. */
    static byte[] encode(Object graph) {
        Object[] values;
        byte kind;
        if (graph instanceof Object[] a && graph.getClass() == Object[].class) {
            values = a;
            kind = ARGS;
        } else if (graph instanceof ChunkResult r && noErrors(r)) {
            values = r.values();
            kind = RESULT;
        } else {
            return null;
        }
        ByteBuffer out = ByteBuffer.allocate(16 + values.length * 5);
        out.put(kind).putInt(values.length);
        for (Object v : values) {
            out = put(ensure(out, 9), v);
            if (out == null) {
                return null;
            }
        }
        return Arrays.copyOf(out.array(), out.position());
    }

    /** Writes one tagged value (after {@code ensure(out, 9)}); returns the buffer, or null for another type. */
    private static ByteBuffer put(ByteBuffer out, Object v) {
        switch (v) {
            case null -> out.put(NULL);
            case Integer i -> out.put(INT).putInt(i);
            case Long l -> out.put(LONG).putLong(l);
            case Double d -> out.put(DOUBLE).putDouble(d);
            case Float f -> out.put(FLOAT).putFloat(f);
            case Boolean b -> out.put(BOOL).put((byte) (b ? 1 : 0));
            case Short sh -> out.put(SHORT).putShort(sh);
            case Byte b -> out.put(BYTE).put(b);
            case Character c -> out.put(CHAR).putChar(c);
            case String str -> {
                byte[] utf8 = str.getBytes(StandardCharsets.UTF_8);
                out = ensure(out, 5 + utf8.length);
                out.put(STRING).putInt(utf8.length).put(utf8);
            }
            default -> {
                return null;
            }
        }
        return out;
    }

    private static boolean noErrors(ChunkResult r) {
        for (Throwable t : r.errors()) {
            if (t != null) {
                return false;
            }
        }
        return true;
    }

    private static ByteBuffer ensure(ByteBuffer b, int more) {
        if (b.remaining() >= more) {
            return b;
        }
        ByteBuffer bigger = ByteBuffer.allocate(Math.max(b.capacity() * 2, b.position() + more));
        return bigger.put(b.flip());
    }

    static boolean isFast(byte[] message, int offset, int length) {
        return length > 0 && (message[offset] == ARGS || message[offset] == RESULT);
    }

    /** Decodes the {@code length} bytes of {@code message} from {@code offset}. */
    static Object decode(byte[] message, int offset, int length) {
        ByteBuffer in = ByteBuffer.wrap(message, offset, length);
        byte kind = in.get();
        int n = in.getInt();
        Object[] values = new Object[n];
        for (int i = 0; i < n; i++) {
            byte tag = in.get();
            values[i] = switch (tag) {
                case NULL -> null;
                case INT -> in.getInt();
                case LONG -> in.getLong();
                case DOUBLE -> in.getDouble();
                case FLOAT -> in.getFloat();
                case BOOL -> in.get() != 0;
                case SHORT -> in.getShort();
                case BYTE -> in.get();
                case CHAR -> in.getChar();
                case STRING -> {
                    byte[] utf8 = new byte[in.getInt()];
                    in.get(utf8);
                    yield new String(utf8, StandardCharsets.UTF_8);
                }
                default -> throw new IllegalArgumentException("corrupt fast message: tag " + tag + " at element " + i);
            };
        }
        return kind == ARGS ? values : new ChunkResult(values, new Throwable[n]);
    }
}
