package dev.tessera.distributed;

/**
 * Which data path a {@link CollectiveGroup} moves tensors on; immutable and thread-safe, owning nothing.
 */
public enum Transport {
    /** Shared memory when every rank of the group is on this host, else TCP (the default). */
    AUTO,
    /**
     * Shared memory: the ranks read each other's slots of one segment in place, synchronised by sequence words in it;
     * every rank must be on one host.
     */
    SHARED_MEMORY,
    /** TCP sockets between the ranks: ring all-reduce and all-gather, direct sends from and to the root otherwise. */
    TCP
}
