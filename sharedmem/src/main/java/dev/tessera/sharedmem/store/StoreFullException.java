package dev.tessera.sharedmem.store;

import dev.tessera.sharedmem.SharedMemoryException;

/**
 * Thrown when a new key does not fit a {@link SharedStore}: every entry of its index is in use. Immutable.
 *
 * <p>The index has a fixed number of entries, chosen when the store is created
 * ({@link SharedStore.Builder#optCapacity}); replacing or removing existing keys always works.
 */
public final class StoreFullException extends SharedMemoryException {
    private static final long serialVersionUID = 1L;

    /** The store's name. */
    private final String store;
    /** The store's capacity, in entries. */
    private final int capacity;

    StoreFullException(String store, int capacity, String key) {
        super("store '" + store + "' is full: all " + capacity + " entries are in use, so key '" + key
                + "' cannot be added; remove keys, or create the store with SharedStore.builder().optCapacity(n) "
                + "and a larger n");
        this.store = store;
        this.capacity = capacity;
    }

    /**
     * The full store.
     *
     * @return the store's name
     */
    public String store() {
        return store;
    }

    /**
     * The store's fixed capacity.
     *
     * @return the number of entries (keys) the store's index holds
     */
    public int capacity() {
        return capacity;
    }
}
