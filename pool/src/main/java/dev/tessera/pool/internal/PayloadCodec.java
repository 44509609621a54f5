package dev.tessera.pool.internal;

import java.io.IOException;

/**
 * Turns task functions, arguments, contexts and results into bytes for a worker JVM and back. The
 * transport depends only on this interface, so plain Java serialization and the tensor-aware
 * {@code TensorCodec} are interchangeable. Implementations are thread-safe.
 */
interface PayloadCodec {
    byte[] encode(Object graph) throws IOException;

    Object decode(byte[] bytes) throws IOException;

    /** Releases what decoded values may still reference (tensor mappings); idempotent. */
    default void close() {}
}
