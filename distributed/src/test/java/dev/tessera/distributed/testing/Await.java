package dev.tessera.distributed.testing;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Bounded waits and free ports for the multi-JVM tests. */
public final class Await {
    private Await() {}

    /** Polls {@code condition} (every millisecond) until it holds; fails after {@code millis}. */
    public static void until(BooleanSupplier condition, long millis, String what) {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + " did not happen within " + millis + " ms");
            }
            LockSupport.parkNanos(1_000_000L);
        }
    }

    /** A coordinator address on loopback whose port (and the failure detector's, 100 above) is free now. */
    public static String freeCoordinator() throws Exception {
        InetAddress lo = InetAddress.getByName("127.0.0.1");
        for (int attempt = 0; attempt < 50; attempt++) {
            try (ServerSocket s = new ServerSocket(0, 1, lo)) {
                int port = s.getLocalPort();
                if (port + 150 > 65535) {
                    continue;
                }
                try (ServerSocket fd = new ServerSocket(port + 100, 1, lo)) {
                    return "127.0.0.1:" + port;
                } catch (java.io.IOException taken) {
                    // try another
                }
            }
        }
        throw new IllegalStateException("no free loopback port pair found");
    }
}
