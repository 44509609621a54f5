package dev.tessera.sharedmem.internal;

/**
 * Whether ND4J (and the JavaCPP it runs on) is on the classpath, asked without loading any ND4J or JavaCPP type, so
 * that the codec and the store work when ND4J is absent. {@link Nd4jSupport}, which names those types, is loaded
 * only once this class says ND4J is there. Stateless and thread-safe.
 */
public final class Nd4jPresence {
    private static final Class<?> INDARRAY = load("org.nd4j.linalg.api.ndarray.INDArray");
    private static final boolean PRESENT = INDARRAY != null && load("org.bytedeco.javacpp.Pointer") != null;
    private static final String PROXY = "org.nd4j.linalg.api.ndarray.BaseNDArrayProxy";

    private Nd4jPresence() {}

    private static Class<?> load(String name) {
        try {
            return Class.forName(name, false, Nd4jPresence.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return null;
        }
    }

    /** Whether ND4J can be used. */
    public static boolean present() {
        return PRESENT;
    }

    /** True if {@code o} is an INDArray; false when ND4J is not on the classpath. */
    public static boolean isINDArray(Object o) {
        return PRESENT && INDARRAY.isInstance(o);
    }

    /**
     * True for ND4J's serialization proxy. {@code BaseNDArray.writeReplace} substitutes it for every INDArray
     * before an {@link java.io.ObjectOutputStream} calls {@code replaceObject}, so a codec sees the proxy.
     */
    public static boolean isINDArrayProxy(Object o) {
        return PRESENT && o != null && o.getClass().getName().equals(PROXY);
    }

    /** Throws {@link UnsupportedOperationException} saying which dependency to add, unless ND4J is present. */
    public static void requirePresent() {
        if (!PRESENT) {
            throw new UnsupportedOperationException(
                    "ND4J is not on the classpath: add org.nd4j:nd4j-native to use INDArray views");
        }
    }
}
