package dev.tessera.distributed.internal;

import ai.djl.ndarray.NDManager;
import dev.tessera.sharedmem.MalformedMessageException;
import dev.tessera.sharedmem.StagingPool;
import dev.tessera.sharedmem.TensorCodec;
import dev.tessera.sharedmem.TensorRef;
import dev.tessera.sharedmem.internal.AllowPatterns;
import java.io.NotSerializableException;
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
 * allowances travel in the frame and are checked ({@link AllowPatterns#check}) by the receiver. A reply carries its
 * request's allowances too, so a result may nest what its call could (the caller allowed those itself). A class the
 * allow-list rejects is reported in the World's terms: the member, and the {@code optAllowPatterns} to add.
 *
 * <p>Tensors travel as bytes, or, when the caller asks for it ({@code stubs}: the receiver is on this host), by
 * TensorCodec's AUTO rule: an array of more than {@link TensorCodec#DEFAULT_MAX_NBYTES} bytes as a shared-memory
 * stub whose reference the message hands off to its decoder. The stub's segment comes from a {@link StagingPool}
 * (TensorCodec's COPY mode with staging, whose threshold is set to AUTO's): its pages are in place already, so a
 * stub costs one memcpy, where a fresh segment's first touch cost 10 times that on the project machine; the
 * receiver takes the segment over and the pool reuses it once the receiver has closed it. {@link Encoded#handedOff()} lists those references, so
 * that the sender can take back the ones no decoder took ({@link Handoffs}). Decoding first runs without an
 * {@link NDManager}, so that a message without NDArrays never starts an engine; a message with NDArrays is decoded
 * again onto the manager the caller supplies (a stub is opened only by the second run: the first stops at the
 * first tensor).
 */
public final class PayloadCodec {
    /** Allowed in every payload, on top of TensorCodec's own defaults. */
    public static final List<String> DEFAULTS = List.of("java.lang.invoke.SerializedLambda",
            "java.lang.StackTraceElement");
    private static final int MAX_CACHED = 256;

    private final List<String> base;
    private final Codecs baseCodecs;
    private final ConcurrentHashMap<String, Codecs> codecs = new ConcurrentHashMap<>();

    /**
     * The codecs of one allow-list: bytes, and stubs above the threshold (staged); all decode either, {@code auto}
     * into zero-copy views, {@code copying} into copies.
     */
    private record Codecs(TensorCodec copy, TensorCodec auto, TensorCodec copying) {}

    private final StagingPool staging;
    private final String member;

    /**
     * A codec for the defaults plus {@code worldPatterns} (already checked) of member {@code member}; stubs are staged
     * in {@code staging}, which the caller owns and closes after this codec's last use.
     */
    public PayloadCodec(String member, List<String> worldPatterns, StagingPool staging) {
        this.member = member;
        List<String> all = new ArrayList<>(DEFAULTS);
        all.addAll(worldPatterns);
        this.base = List.copyOf(all);
        this.staging = staging;
        this.baseCodecs = build(base);
    }

    /** A pool whose threshold is AUTO's: arrays of more than {@link TensorCodec#DEFAULT_MAX_NBYTES} are staged. */
    public static StagingPool stagingPool() {
        return StagingPool.builder().optMinTensorBytes(TensorCodec.DEFAULT_MAX_NBYTES + 1).build();
    }

    /**
     * An encoded payload, the allowances it needs, and the shared-memory references it hands off (empty when its
     * tensors travel as bytes).
     */
    public record Encoded(byte[] bytes, String allowances, List<TensorRef> handedOff) {
        public Encoded {
            handedOff = List.copyOf(handedOff);
        }
    }

    /**
     * Encodes {@code graph} with its tensors as bytes; the allowances are those of {@code roots}' classes (the
     * objects the user handed over).
     */
    public Encoded encode(Object graph, Object... roots) {
        return encodeFor(false, graph, roots);
    }

    /**
     * Encodes {@code graph}; with {@code stubs}, arrays above the threshold travel as shared-memory stubs (the
     * receiver must be on this host), else every tensor as bytes.
     */
    public Encoded encodeFor(boolean stubs, Object graph, Object... roots) {
        return encodeFor(stubs, "", graph, roots);
    }

    /**
     * Encodes a reply: as {@link #encodeFor(boolean, Object, Object...)}, its allowances joined with
     * {@code inherited}, those of the request it answers. The caller allowed them itself (the package trees of its
     * function and arguments), so a result may hold what the call could: a {@code com.example} function's
     * {@code List<com.example.Point>} decodes in its caller without {@code optAllowPatterns}.
     */
    public Encoded encodeFor(boolean stubs, String inherited, Object graph, Object... roots) {
        String allowances = join(inherited, allowancesFor(roots));
        Codecs c = codec(allowances);
        try {
            if (!stubs) {
                return new Encoded(c.copy().encode(graph), allowances, List.of());
            }
            List<TensorRef> refs = new ArrayList<>(0);
            byte[] bytes = c.auto().encode(graph, refs::add);
            return new Encoded(bytes, allowances, refs);
        } catch (IllegalArgumentException e) {
            if (e.getCause() instanceof NotSerializableException n) {
                throw new IllegalArgumentException("member '" + member + "' cannot send a payload that holds "
                        + n.getMessage() + ", which is not Serializable: a call's function (with everything a lambda "
                        + "captures), its arguments, its result and a paired value travel to another JVM, so each "
                        + "must be Serializable (inside a function, use World.current() rather than capturing the "
                        + "World or a group)", e);
            }
            throw e;
        }
    }

    /**
     * Decodes a payload whose NDArrays the caller keeps for an unknown time (a result, a fetched value): one that
     * arrived by stub is copied out of shared memory, whose segment goes at once, so every decoded array lives like
     * one that arrived as bytes.
     *
     * @see #decode(byte[], String, Supplier, boolean)
     */
    public Object decode(byte[] bytes, String allowances, Supplier<NDManager> manager) {
        return decode(bytes, allowances, manager, false);
    }

    /**
     * Decodes a payload.
     *
     * @param manager supplies the manager NDArrays attach to; asked only if the payload holds NDArrays
     * @param views whether NDArrays that arrived by stub are zero-copy views of shared memory, which holds each
     *     segment until {@code manager} closes (arguments of one call, whose manager closes with it), or copies
     * @throws dev.tessera.sharedmem.MalformedMessageException if the payload is malformed or the allow-list
     *     rejects a class in it (the message names the pattern to add with {@code optAllowPatterns})
     */
    public Object decode(byte[] bytes, String allowances, Supplier<NDManager> manager, boolean views) {
        TensorCodec codec = views ? codec(allowances).auto() : codec(allowances).copying();
        try {
            try {
                return codec.decode(bytes, null);
            } catch (MalformedMessageException e) {
                throw e;
            } catch (IllegalArgumentException needsManager) {
                return codec.decode(bytes, manager.get()); // it holds NDArrays: TensorCodec's contract for null
            }
        } catch (MalformedMessageException e) {
            throw rejection(e);
        }
    }

    /**
     * TensorCodec's rejection of a class, told in a World's terms (its own message names the codec's and the store's
     * options, which a World's user does not hold); any other malformation unchanged.
     */
    private MalformedMessageException rejection(MalformedMessageException e) {
        if (e.rejected() == null) {
            return e;
        }
        return MalformedMessageException.rejected("member '" + member + "' received a payload that holds " + e.rejected()
                + ", which its allow-list rejects: the classes of a call's function and arguments, and of a result, "
                + "are allowed with their package trees, but classes nested inside them (in a List, a field, ...) "
                + "only by pattern; build the World of '" + member + "' (of every member that receives such a "
                + "payload) with World.builder().optAllowPatterns(\"" + e.allowPattern() + "\")", e.rejected(),
                e.allowPattern(), e);
    }

    private static String join(String a, String b) {
        if (a.isEmpty() || b.isEmpty()) {
            return a.isEmpty() ? b : a;
        }
        TreeSet<String> all = new TreeSet<>(Arrays.asList(a.split(";")));
        all.addAll(Arrays.asList(b.split(";")));
        return String.join(";", all);
    }

    private Codecs codec(String allowances) {
        if (allowances.isEmpty()) {
            return baseCodecs;
        }
        Codecs c = codecs.get(allowances);
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

    private Codecs build(List<String> patterns) {
        String[] p = patterns.toArray(String[]::new);
        return new Codecs(TensorCodec.builder().optMode(TensorCodec.Mode.COPY).optAllowPatterns(p).build(),
                TensorCodec.builder().optMode(TensorCodec.Mode.COPY).optStaging(staging).optAllowPatterns(p).build(),
                TensorCodec.builder().optMode(TensorCodec.Mode.AUTO).optAllowPatterns(p).optCopyStubsOnDecode(true)
                        .build());
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
