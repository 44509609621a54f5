package dev.tessera.pool.internal;

/**
 * Whether the calling thread is inside {@code Parallel.noParallel()}: the one fact about Parallel's
 * configuration scopes that the pools need ({@code Pools.threadPool()} and {@code processPool()} then return a
 * sequential pool). Thread-confined: a per-thread count of entered scopes.
 */
public final class NoParallelScope {
    private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[1]);

    private NoParallelScope() {}

    /** The calling thread entered a {@code noParallel()} scope. */
    public static void enter() {
        DEPTH.get()[0]++;
    }

    /** The calling thread left the innermost {@code noParallel()} scope. */
    public static void exit() {
        int[] d = DEPTH.get();
        if (--d[0] <= 0) {
            DEPTH.remove();
        }
    }

    /** Whether the calling thread is inside a {@code noParallel()} scope. */
    public static boolean active() {
        return DEPTH.get()[0] > 0;
    }
}
