package dev.tessera.distributed.internal;

import ai.djl.ndarray.NDManager;
import dev.tessera.sharedmem.TensorCodec;
import dev.tessera.sharedmem.internal.AllowPatterns;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Encodes the payloads of a World's messages (functions, arguments, results, paired values) with
 * {@link TensorCodec} in COPY mode, behind the project's one allow-list rule. Thread-safe; it owns only a cache of
 * codecs.
 *
 * <p>The allow-list of a payload has three layers, as in the process pool: {@link #DEFAULTS} (TensorCodec's JDK
 * value classes, serializable lambdas and stack traces); the World's {@code optAllowPatterns}; and the
 * <em>allowances</em> of the objects the sender handed over: for a non-JDK class its package tree
 * ({@link AllowPatterns#packageTreeOf}, so a lambda admits its capturing class's package), for a JDK class its
 * exact name (a JDK package is never allowed whole). Objects nested deeper must be covered by those layers. The
 * allowances travel in the frame and are checked ({@link AllowPatterns#check}) by the receiver.
 *
 * <p>Tensors travel as bytes. Decoding first runs without an {@link NDManager}, so that a message without NDArrays
 * never starts an engine; a message with NDArrays is decoded again onto the manager the caller supplies.
 */
public final class PayloadCodec {
    /** Allowed in every payload, on top of TensorCodec's own defaults. */
    public static final List<String> DEFAULTS = List.of("java.lang.invoke.SerializedLambda",
            "java.lang.StackTraceElement");
    private static final int MAX_CACHED = 256;

    private final List<String> base;
    private final TensorCodec baseCodec;
    private final ConcurrentHashMap<String, TensorCodec> codecs = new ConcurrentHashMap<>();

    /** A codec for the defaults plus {@code worldPatterns} (already checked). */
    public PayloadCodec(List<String> worldPatterns) {
        List<String> all = new ArrayList<>(DEFAULTS);
        all.addAll(worldPatterns);
        this.base = List.copyOf(all);
        this.baseCodec = build(base);
    }

    /** An encoded payload and the allowances it needs. */
    public record Encoded(byte[] bytes, String allowances) {}

    /** Encodes {@code graph}; the allowances are those of {@code roots}' classes (the objects the user handed over). */
    public Encoded encode(Object graph, Object... roots) {
        String allowances = allowancesFor(roots);
        return new Encoded(codec(allowances).encode(graph), allowances);
    }

    /**
     * Decodes a payload.
     *
     * @param manager supplies the manager NDArrays attach to; asked only if the payload holds NDArrays
     * @throws dev.tessera.sharedmem.MalformedMessageException if the payload is malformed or the allow-list
     *     rejects a class in it (the message names the pattern to add with {@code optAllowPatterns})
     */
    public Object decode(byte[] bytes, String allowances, Supplier<NDManager> manager) {
        TensorCodec codec = codec(allowances);
        try {
            return codec.decode(bytes, null);
        } catch (IllegalArgumentException needsManager) {
            return codec.decode(bytes, manager.get()); // it holds NDArrays: TensorCodec's contract for a null manager
        }
    }

    private TensorCodec codec(String allowances) {
        if (allowances.isEmpty()) {
            return baseCodec;
        }
        TensorCodec c = codecs.get(allowances);
        if (c == null) {
            List<String> all = new ArrayList<>(base);
            all.addAll(AllowPatterns.check(Arrays.asList(allowances.split(";"))));
            c = build(all);
            if (codecs.size() >= MAX_CACHED) {
                codecs.clear();
            }
            codecs.put(allowances, c);
        }
        return c;
    }

    private static TensorCodec build(List<String> patterns) {
        return TensorCodec.builder().optMode(TensorCodec.Mode.COPY).optAllowPatterns(patterns.toArray(String[]::new))
                .build();
    }

    /** The allowances of these objects' classes, sorted and joined with {@code ;}; empty when none is needed. */
    static String allowancesFor(Object... roots) {
        TreeSet<String> out = new TreeSet<>();
        for (Object o : roots) {
            if (o instanceof Object[] nested) {
                for (Object n : nested) {
                    add(n, out);
                }
            } else {
                add(o, out);
            }
        }
        return String.join(";", out);
    }

    private static void add(Object o, TreeSet<String> out) {
        if (o != null) {
            String pattern = PATTERNS.get(o.getClass());
            if (!pattern.isEmpty()) {
                out.add(pattern);
            }
        }
    }

    /** Per class, the pattern that admits it (empty: none needed); looked up once, as every call hands some over. */
    private static final ClassValue<String> PATTERNS = new ClassValue<>() {
        @Override
        protected String computeValue(Class<?> type) {
            Class<?> c = type;
            while (c.isArray()) {
                c = c.getComponentType();
            }
            if (c.isPrimitive() || c == String.class) {
                return "";
            }
            boolean jdk = c.getClassLoader() == null || c.getClassLoader() == ClassLoader.getPlatformClassLoader();
            if (jdk && c.isHidden()) {
                return ""; // a JDK lambda travels as a SerializedLambda of a JDK class
            }
            return jdk ? c.getName() : AllowPatterns.packageTreeOf(c);
        }
    };
}
