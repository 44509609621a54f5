package dev.tessera.distributed.internal.nccl;

import java.util.function.Supplier;

/**
 * A native binding made on first use, whose failure is remembered and thrown again (as a new
 * {@link IllegalStateException} with the first as its cause, so each caller gets its own stack). Thread-safe; it
 * owns what the loader returns.
 *
 * @param <T> the binding
 */
final class LoadOnce<T> {
    private final Supplier<T> load;
    private volatile Object loaded; // null, the binding, or the IllegalStateException its load threw

    /** @param load makes the binding; throws IllegalStateException if the library is missing */
    LoadOnce(Supplier<T> load) {
        this.load = load;
    }

    @SuppressWarnings("unchecked")
    T get() {
        Object l = loaded;
        if (l == null) {
            synchronized (this) {
                l = loaded;
                if (l == null) {
                    try {
                        l = load.get();
                    } catch (IllegalStateException e) {
                        l = e;
                    }
                    loaded = l;
                }
            }
        }
        if (l instanceof IllegalStateException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        return (T) l;
    }
}
