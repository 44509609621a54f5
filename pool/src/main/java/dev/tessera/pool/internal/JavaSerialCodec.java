package dev.tessera.pool.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InvalidClassException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Java serialization behind an allow-list {@link ObjectInputFilter}: only classes matching the
 * patterns ({@code java.**}, {@code dev.tessera.**} and the caller's) may be deserialized; anything
 * else fails with {@link InvalidClassException} naming the class, before its code runs. Thread-safe
 * (no shared streams).
 */
public final class JavaSerialCodec implements PayloadCodec {
    /** Allowed by default: the JDK's value types and collections, lambdas, and this library. */
    public static final List<String> DEFAULT_ALLOW = List.of("java.**", "dev.tessera.**", "ai.djl.ndarray.types.**");

    private final ObjectInputFilter filter;
    private final String patterns;

    public JavaSerialCodec(List<String> extraAllowPatterns) {
        List<String> all = new ArrayList<>(DEFAULT_ALLOW);
        all.addAll(extraAllowPatterns);
        this.patterns = String.join(";", all) + ";!*";
        this.filter = ObjectInputFilter.Config.createFilter("maxdepth=1000;" + patterns);
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
        return decode(bytes, 0, bytes.length);
    }

    /** Decodes {@code length} bytes of {@code bytes} from {@code offset}, without copying them. */
    public Object decode(byte[] bytes, int offset, int length) throws IOException {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes, offset, length))) {
            in.setObjectInputFilter(filter);
            return in.readObject();
        } catch (ClassNotFoundException e) {
            throw new InvalidClassException("class not on this JVM's classpath: " + e.getMessage());
        } catch (InvalidClassException e) {
            throw new InvalidClassException(e.getMessage() + " (the allow-list is '" + patterns
                    + "'; add the package with optAllowPatterns)");
        }
    }
}
