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

    public static NDArray same(NDArray x) {
        return x;
    }

    /** {@code x + 1}, after 4 s: later than a caller with a 2 s timeout waits. */
    public static NDArray slowPlusOne(NDArray x) throws InterruptedException {
        Thread.sleep(4_000);
        return x.add(1);
    }

    public static NDArray plusOne(NDArray x) {
        return x.add(1);
    }

    /** How many segment files the shared-memory directory holds while this runs with {@code x} open. */
    public static Long segmentsDuring(NDArray x) {
        return segmentFiles();
    }

    /** How many segment files this process's shared-memory directory holds. */
    public static long segmentFiles() {
        try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.list(
                dev.tessera.sharedmem.SharedSegment.defaultDirectory())) {
            return files.filter(p -> p.getFileName().toString().startsWith("tessera-")).count();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** How many stubs the member running this has handed off. */
    public static Long handedOff() {
        return World.current().stubsHandedOff();
    }

    /** Holds {@code x} and never returns in time: the member running it is killed in the test. */
    public static Long holdForever(NDArray x) throws InterruptedException {
        Thread.sleep(600_000);
        return x.size();
    }

    /** Counted down when {@link #awaitRelease} has its argument. */
    public static final java.util.concurrent.CountDownLatch ARRIVED = new java.util.concurrent.CountDownLatch(1);
    /** Lets {@link #awaitRelease} return. */
    public static final java.util.concurrent.CountDownLatch RELEASE = new java.util.concurrent.CountDownLatch(1);

    /** Holds {@code x} until {@link #RELEASE} (at most 60 s), having counted {@link #ARRIVED} down. */
    public static Long awaitRelease(NDArray x) throws InterruptedException {
        ARRIVED.countDown();
        RELEASE.await(60, java.util.concurrent.TimeUnit.SECONDS);
        return x.size();
    }
}
