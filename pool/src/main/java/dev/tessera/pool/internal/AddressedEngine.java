package dev.tessera.pool.internal;

/** An {@link Engine} whose workers can also be addressed one by one (each slot has its own queue). */
public interface AddressedEngine extends Engine {
    /**
     * Queues {@code chunk} for worker slot {@code slot} only; it runs after the chunks queued for that slot
     * before it, on the worker now in the slot or on its replacement.
     *
     * @throws IllegalArgumentException if {@code slot} is not in {@code [0, workers())}
     * @throws IllegalStateException once the engine is closed
     */
    void submitTo(int slot, Chunk chunk);
}
