package dev.tessera.distributed;

import ai.djl.ndarray.NDArray;
import java.util.List;

/** Functions the tests run in other members (method references travel as serialized lambdas). */
public final class Functions {
    private Functions() {}

    public static Integer add(Integer a, Integer b) {
        return a + b;
    }

    public static Integer inc(Integer a) {
        return a + 1;
    }

    public static String whoAmI() {
        return World.current().name();
    }

    public static Integer size(List<?> list) {
        return list.size();
    }

    public static Object fail(String message) {
        try {
            throw new java.io.UncheckedIOException("inner", new java.io.IOException("disk"));
        } catch (RuntimeException inner) {
            throw new IllegalStateException(message, inner);
        }
    }

    /** Never returns in time: the member running it is killed in the test. */
    public static Integer block() throws InterruptedException {
        Thread.sleep(600_000);
        return 0;
    }

    public static NDArray twice(NDArray x) {
        return x.mul(2);
    }
}
