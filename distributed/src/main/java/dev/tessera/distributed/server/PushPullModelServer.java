package dev.tessera.distributed.server;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Whole-model optimistic compare-and-set of DJL Blocks through an {@link OrderedServer} (machin's
 * {@code PushPullModelServer}); thread-safe. It owns no model: it reads a Block's parameters when pushing and writes
 * them when pulling (the caller must not train the Block concurrently), and remembers the version of each Block it
 * saw (weakly, so a Block it forgets is not kept alive).
 *
 * <p>{@link #push(Block, boolean) push} offers the Block's parameters as version {@code v+1} following the version
 * {@code v} this Block last pushed or pulled; if another member pushed first, the push fails and, with
 * {@code pullOnFail}, the Block loads the newest model instead. {@link #pull(Block) pull} loads only when the stored
 * version is newer (nothing travels otherwise).
 */
public final class PushPullModelServer {
    private final OrderedServer server;
    private final String model;
    private final Map<Block, Long> versions = Collections.synchronizedMap(new WeakHashMap<>());

    /**
     * Model {@code model} on {@code server}.
     *
     * @param server the ordered server that stores it (its accessor in this member)
     * @param model the model's key
     * @throws IllegalArgumentException if the name is empty
     */
    public PushPullModelServer(OrderedServer server, String model) {
        if (model == null || model.isEmpty()) {
            throw new IllegalArgumentException("model='" + model + "' (expected a non-empty key)");
        }
        this.server = java.util.Objects.requireNonNull(server, "server");
        this.model = model;
    }

    /**
     * {@code push(block, true)}.
     *
     * @param block an initialized Block
     * @return true if this push became the newest version
     */
    public boolean push(Block block) {
        return push(block, true);
    }

    /**
     * Pushes the Block's parameters as the version after the one it has.
     *
     * @param block an initialized Block
     * @param pullOnFail whether to load the newest model when another member pushed first
     * @return true if this push became the newest version; false if it lost (the Block then holds the newest
     *     model if {@code pullOnFail})
     * @throws IllegalStateException if a parameter is not initialized
     */
    public boolean push(Block block, boolean pullOnFail) {
        long v = version(block);
        if (server.push(model, Parameters.values(block), v + 1, v)) {
            versions.put(block, v + 1);
            return true;
        }
        if (pullOnFail) {
            pull(block);
        }
        return false;
    }

    /**
     * Loads the newest model into the Block if it is newer than the Block's version.
     *
     * @param block an initialized Block of the same architecture
     * @return true if it loaded a newer version
     * @throws IllegalArgumentException if a parameter's name or shape differs from the server's
     */
    public boolean pull(Block block) {
        OrderedServer.Versioned<Map<String, NDArray>> newer = server.pullIfNewer(model, version(block));
        if (newer == null) {
            return false;
        }
        try {
            Parameters.load(block, newer.value());
        } finally {
            newer.value().values().forEach(NDArray::close);
        }
        versions.put(block, newer.version());
        return true;
    }

    /**
     * The version this Block last pushed or pulled.
     *
     * @param block a Block
     * @return its version, 0 if it never pushed or pulled
     */
    public long version(Block block) {
        return versions.getOrDefault(block, 0L);
    }

    @Override
    public String toString() {
        return "PushPullModelServer[" + model + " on " + server + "]";
    }
}
