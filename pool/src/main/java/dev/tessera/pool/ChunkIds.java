package dev.tessera.pool;

import java.util.concurrent.atomic.AtomicLong;

/** Hands out chunk ids, unique within a pool. Thread-safe. */
final class ChunkIds {
    private final AtomicLong next = new AtomicLong();

    long next() {
        return next.getAndIncrement();
    }
}
