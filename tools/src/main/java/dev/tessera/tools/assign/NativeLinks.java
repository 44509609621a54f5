package dev.tessera.tools.assign;

import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.LambdaConversionException;
import java.lang.invoke.LambdaMetafactory;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TimeZone;

/**
 * Stateless: makes the JVM link, before DJL's engine starts loading, the JDK native methods that the CLI's main thread
 * would otherwise link first while it loads. glibc's {@code dlopen} holds the dynamic loader's lock while a library's
 * static constructors run (about 0.5 s for libtorch_cpu's operator registry), and the JVM links a native method with
 * {@code dlsym}, which waits for that lock; the thread waits in the VM's state, so a safepoint waits for it too. In a
 * cold {@code ./tessera assign} of a 1000×16 graph, the main thread sat 0.4 s in picocli's first annotation
 * ({@code ConstantPool.getUTF8At0}) until libtorch had loaded, and the gradient phase waited for the main thread.
 *
 * <p>The list is what {@code -Xlog:jni+resolve=debug} showed the main thread linking in that time: annotation parsing
 * and its proxy class (constant-pool, module and array natives), file reads through {@code java.io} and NIO (NIO also
 * loads libnet), the time zone (Jackson), the console check (picocli's colours) and a lambda spun at run time (which
 * asks the start-up cache first). A native left out only brings that wait back; nothing here changes an answer. About
 * 20–50 ms of work that the main thread would do later anyway.
 */
final class NativeLinks {
    private NativeLinks() {}

    /** Links the natives; {@code annotated} is a class with a runtime-visible annotation not read before. */
    static void linkBeforeEngineLoad(Class<?> annotated) {
        annotated.getAnnotations()[0].toString(); // a proxy class: ConstantPool and Module natives
        java.lang.reflect.Array.getLength(new Object[0]); // picocli's array-valued options
        try (InputStream io = new java.io.FileInputStream(System.getProperty("java.home") + "/release");
                InputStream nio = Files.newInputStream(Path.of(System.getProperty("java.home"), "release"))) {
            io.available();
            io.read(new byte[1]);
            nio.readNBytes(2);
        } catch (IOException e) {
            // a JDK without its release file: the graph's own read links these a little later
        }
        TimeZone.getDefault();
        System.console();
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            MethodType noArgs = MethodType.methodType(void.class);
            LambdaMetafactory.metafactory(lookup, "run", MethodType.methodType(Runnable.class), noArgs,
                    lookup.findStatic(NativeLinks.class, "nothing", noArgs), noArgs);
        } catch (ReflectiveOperationException | LambdaConversionException e) {
            throw new AssertionError(e); // a private static void method of this class: cannot fail
        }
    }

    private static void nothing() {}
}
