package dev.tessera.pool.internal;

import dev.tessera.sharedmem.internal.AllowPatterns;
import java.io.ObjectInputFilter;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The deserialization allow-list of one process pool, the same on both sides of the socket. Immutable and
 * thread-safe; it owns nothing but caches.
 *
 * <p>Three layers, each a list of {@link AllowPatterns} patterns:
 * <ol>
 *   <li>{@link #DEFAULTS}: the JDK value, collection and exception classes tasks exchange, serializable
 *       lambdas, this library, and DJL's shape and data-type values. {@code java.**} as a whole is not
 *       allowed: it holds the JDK's own deserialization gadgets ({@code java.net.URL}'s DNS look-up in a
 *       {@code HashMap}, {@code java.rmi} remote references, {@code java.lang.reflect.Proxy}).
 *   <li>The pool's {@code optAllowPatterns}.
 *   <li>Per task, the <em>allowances</em> of the objects the caller hands over ({@link #allowancesFor}):
 *       the package tree ({@code com.example.**}) of the task function's class (a lambda or method
 *       reference is defined in the package of its capturing class, so this admits the capturing class
 *       and its neighbours), and the package tree of each argument's class. A JDK class outside the
 *       defaults is allowed by its exact name only, never its package. Objects nested deeper (the elements
 *       of a {@code List} argument) are not looked at: their classes must come from the task's package
 *       tree, the defaults, or {@code optAllowPatterns}.
 * </ol>
 *
 * <p>The allowances of a task travel with it to the worker as one string ({@code "a;b"}, empty when the
 * defaults cover everything, the common case), so a worker accepts a new user package without a restart.
 * The parent decodes the task's results with the same allowances. Filters are cached per allowance string.
 */
final class AllowList {
    /**
     * Allowed everywhere; see the class comment for why these and not {@code java.**}. The filter tries them
     * in order, so the classes of every message (this library's, then {@code java.lang}) come first. They
     * cover sharedmem's {@code TensorCodec} defaults (its JDK value and collection classes, {@code NDList},
     * its own placeholders), so a task's plain messages and its tensor messages allow the same classes: this
     * list, with the pool's and the task's patterns, is the one policy both codecs decode with.
     */
    public static final List<String> DEFAULTS = List.of(
            "dev.tessera.**", "java.lang.*", "java.util.*", "java.lang.invoke.SerializedLambda", "java.util.concurrent.*",
            "java.util.concurrent.atomic.*", "java.util.regex.Pattern", "java.math.*", "java.time.**", "java.io.*",
            "java.nio.*", "java.nio.file.*", "java.net.URI", "ai.djl.ndarray.types.**", "ai.djl.ndarray.NDList");
    /** The deepest object nesting a plain message may have. */
    static final int MAX_DEPTH = 1000;
    private static final int MAX_CACHED_FILTERS = 256;
    /** Where this library's task adapters live ({@code Tasks.OfFunction}, {@code Parallel.Delayed}). */
    private static final java.util.Set<String> ADAPTER_PACKAGES = java.util.Set.of("dev.tessera.pool",
            "dev.tessera.pool.parallel");

    private final List<String> base;
    private final ObjectInputFilter baseFilter;
    private final ConcurrentHashMap<String, ObjectInputFilter> filters = new ConcurrentHashMap<>();
    private final ClassValue<Allowance> allowances = new ClassValue<>() {
        @Override
        protected Allowance computeValue(Class<?> type) {
            return allowanceOf(type);
        }
    };

    /** An allow-list of the defaults plus {@code poolPatterns} (checked). */
    public AllowList(List<String> poolPatterns) {
        List<String> all = new ArrayList<>(DEFAULTS);
        all.addAll(AllowPatterns.check(poolPatterns));
        this.base = List.copyOf(all);
        this.baseFilter = create(base);
    }

    /** The patterns in force for a task with these allowances: defaults, the pool's, then the task's. */
    public List<String> patterns(String allowances) {
        if (allowances.isEmpty()) {
            return base;
        }
        List<String> all = new ArrayList<>(base);
        all.addAll(Arrays.asList(allowances.split(";")));
        return all;
    }

    /** The filter for a task with these allowances (checked: they may come off the wire). */
    public ObjectInputFilter filter(String allowances) {
        if (allowances.isEmpty()) {
            return baseFilter;
        }
        ObjectInputFilter f = filters.get(allowances);
        if (f == null) {
            List<String> extra = AllowPatterns.check(Arrays.asList(allowances.split(";")));
            List<String> all = new ArrayList<>(base);
            all.addAll(extra);
            f = create(all);
            if (filters.size() >= MAX_CACHED_FILTERS) {
                filters.clear();
            }
            filters.put(allowances, f);
        }
        return f;
    }

    private static ObjectInputFilter create(List<String> patterns) {
        return ObjectInputFilter.Config.createFilter("maxdepth=" + MAX_DEPTH + ";" + AllowPatterns.allowOnly(patterns));
    }

    /**
     * The allowances of a task: for {@code task} and each of {@code args} (and the elements of an
     * {@code Object[]} argument, a starmap tuple), the pattern of its class. This library's task adapters
     * (records such as {@code Tasks.OfFunction} or {@code Parallel.Delayed}) count by what they wrap.
     *
     * @return the patterns joined with {@code ;}, sorted; empty when the pool's list covers them all
     */
    public String allowancesFor(Object task, Object[] args) {
        TreeSet<String> out = null;
        out = add(task, out, 0);
        Class<?> lastLeaf = null; // map chunks are mostly one class: look it up once
        for (Object a : args) {
            if (a != null && a.getClass() != lastLeaf) {
                out = add(a, out, 0);
                lastLeaf = allowances.get(a.getClass()).leaf() ? a.getClass() : null;
            }
        }
        return out == null ? "" : String.join(";", out);
    }

    private TreeSet<String> add(Object o, TreeSet<String> out, int depth) {
        if (o == null || depth > 2) {
            return out;
        }
        Allowance a = allowances.get(o.getClass());
        if (!a.pattern.isEmpty()) {
            out = out == null ? new TreeSet<>() : out;
            out.add(a.pattern);
        }
        if (o instanceof Object[] tuple && depth == 0) {
            for (Object e : tuple) {
                out = add(e, out, depth + 1);
            }
        }
        for (Method m : a.unwrap) {
            out = add(component(m, o), out, depth + 1);
        }
        return out;
    }

    private static Object component(Method accessor, Object record) {
        try {
            return accessor.invoke(record);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null; // an adapter we cannot look into adds nothing; its contents may still be allowed
        }
    }

    /** What a class contributes: its pattern (empty when allowed already) and, for our adapters, what to unwrap. */
    private record Allowance(String pattern, Method[] unwrap, boolean leaf) {
        Allowance(String pattern, Class<?> type, Method[] unwrap) {
            this(pattern, unwrap, unwrap.length == 0 && !Object[].class.isAssignableFrom(type));
        }
    }

    private Allowance allowanceOf(Class<?> type) {
        Class<?> c = type;
        while (c.isArray()) {
            c = c.getComponentType();
        }
        Method[] unwrap = adapterAccessors(type);
        if (c.isPrimitive() || baseFilter.checkInput(new Probe(c)) == ObjectInputFilter.Status.ALLOWED) {
            return new Allowance("", type, unwrap);
        }
        if (isJdk(c) && c.isHidden()) {
            return new Allowance("", type, unwrap); // a JDK lambda travels as a SerializedLambda of a JDK class
        }
        return new Allowance(patternFor(c), type, unwrap);
    }

    /**
     * The pattern that admits {@code c}: its exact name for a JDK class (a JDK package is never allowed whole),
     * else its package tree (see {@link AllowPatterns#packageTreeOf}).
     */
    static String patternFor(Class<?> c) {
        String tree = isJdk(c) ? null : AllowPatterns.packageTreeOf(c);
        return tree != null ? tree : c.getName();
    }

    private static boolean isJdk(Class<?> c) {
        return c.getClassLoader() == null || c.getClassLoader() == ClassLoader.getPlatformClassLoader();
    }

    /** The component accessors of this library's own task-adapter records, whose components are user code. */
    private static Method[] adapterAccessors(Class<?> type) {
        if (!type.isRecord() || !ADAPTER_PACKAGES.contains(type.getPackageName())) {
            return new Method[0];
        }
        List<Method> out = new ArrayList<>();
        for (RecordComponent rc : type.getRecordComponents()) {
            Method m = rc.getAccessor();
            if (!rc.getType().isPrimitive() && m.trySetAccessible()) {
                out.add(m);
            }
        }
        return out.toArray(Method[]::new);
    }

    /** Asks the filter about one class, as the stream would for an object of it at depth 1. */
    private record Probe(Class<?> serialClass) implements ObjectInputFilter.FilterInfo {
        @Override
        public long arrayLength() {
            return -1;
        }

        @Override
        public long depth() {
            return 1;
        }

        @Override
        public long references() {
            return 1;
        }

        @Override
        public long streamBytes() {
            return 0;
        }
    }
}
