package dev.tessera.pool.internal;

import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The one door from the pools' front end to the three engines: inline (the caller's thread), threads, and
 * worker JVMs. Stateless; each engine returned is owned by the pool that asked for it.
 */
public final class Engines {
    /** How long a thread worker may take to start and run its initializer. */
    private static final long THREAD_START_MILLIS = 60_000;

    private Engines() {}

    /** Runs every chunk in the submitting thread. */
    public static Engine inline(String name, WorkerSetup setup) {
        return new InlineEngine(name, setup);
    }

    /** {@code workers} platform threads; returns once every worker ran its initializer. */
    public static Engine threads(String name, int workers, WorkerSetup setup) {
        WorkerScope parent = WorkerScope.current();
        return new PoolCore(name, workers, setup, (core, i) -> new ThreadSlot(core, i, parent), THREAD_START_MILLIS);
    }

    /**
     * {@code workers} worker JVMs started as {@code config} says, each checked with one random token of this
     * pool; returns once every worker is ready or {@code readyMillis} passed.
     */
    public static AddressedEngine processes(String name, int workers, WorkerSetup setup, ProcessConfig config,
            long readyMillis) {
        byte[] secret = new byte[16];
        new SecureRandom().nextBytes(secret);
        String token = HexFormat.of().formatHex(secret);
        WorkerScope parent = WorkerScope.current();
        return new PoolCore(name, workers, setup, (core, i) -> new ProcessSlot(core, i, config, parent, token),
                readyMillis); // each slot removes its socket directory itself
    }
}
