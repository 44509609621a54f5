package dev.tessera.pool.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InvalidClassException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;

/**
 * Java serialization behind the pool's {@link AllowList}: only classes it allows for the message's task may
 * be deserialized; anything else fails with {@link InvalidClassException} naming the class and the
 * {@code optAllowPatterns} that would allow it, before its code runs. Thread-safe (no shared streams).
 */
final class JavaSerialCodec implements PayloadCodec {
    private final AllowList allowList;

    public JavaSerialCodec(AllowList allowList) {
        this.allowList = allowList;
    }

    @Override
    public byte[] encode(Object graph) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(graph);
        }
        return bytes.toByteArray();
    }

    @Override
    public Object decode(byte[] bytes) throws IOException {
        return decode(bytes, 0, bytes.length, "");
    }

    /** Decodes {@code length} bytes of {@code bytes} from {@code offset}, without copying them. */
    public Object decode(byte[] bytes, int offset, int length, String allowances) throws IOException {
        Rejection rejection = new Rejection(allowList.filter(allowances));
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes, offset, length))) {
            in.setObjectInputFilter(rejection);
            return in.readObject();
        } catch (ClassNotFoundException e) {
            throw new InvalidClassException("class not on this JVM's classpath: " + e.getMessage());
        } catch (InvalidClassException e) {
            throw rejection.info == null ? e : rejected(rejection.info, allowances);
        }
    }

    private InvalidClassException rejected(ObjectInputFilter.FilterInfo info, String allowances) {
        Class<?> c = info.serialClass();
        while (c != null && c.isArray()) {
            c = c.getComponentType();
        }
        if (c == null || info.depth() > AllowList.MAX_DEPTH) {
            return new InvalidClassException("the message nests objects deeper than " + AllowList.MAX_DEPTH
                    + " levels (depth " + info.depth() + "); flatten the argument or result, e.g. a list instead "
                    + "of a linked chain");
        }
        return new InvalidClassException("class " + c.getName() + " is not on the deserialization allow-list " + allowList.patterns(
                allowances) + "; allow it with optAllowPatterns(\"" + AllowList.patternFor(c) + "\") on the pool builder");
    }

    /** Wraps the filter to remember what it rejected, for the message. One per stream. */
    private static final class Rejection implements ObjectInputFilter {
        private final ObjectInputFilter filter;
        private FilterInfo info;

        Rejection(ObjectInputFilter filter) {
            this.filter = filter;
        }

        @Override
        public Status checkInput(FilterInfo filterInfo) {
            Status s = filter.checkInput(filterInfo);
            if (s == Status.REJECTED && info == null) {
                info = filterInfo;
            }
            return s;
        }
    }
}
