package dev.tessera.distributed.internal;

import ai.djl.ndarray.NDManager;
import java.util.function.Supplier;

/**
 * A sub-manager of a parent {@link NDManager}, created on first use, so that messages without NDArrays never start
 * an engine. Not thread-safe (one call's decoding and reply); it owns the sub-manager and closes it in
 * {@link #close()}.
 */
final class LazyManager implements Supplier<NDManager>, AutoCloseable {
    private final Supplier<NDManager> parent;
    private NDManager manager;

    LazyManager(Supplier<NDManager> parent) {
        this.parent = parent;
    }

    @Override
    public NDManager get() {
        if (manager == null) {
            manager = parent.get().newSubManager();
        }
        return manager;
    }

    @Override
    public void close() {
        if (manager != null) {
            manager.close();
            manager = null;
        }
    }
}
