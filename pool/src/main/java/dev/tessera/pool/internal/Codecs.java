package dev.tessera.pool.internal;

import dev.tessera.pool.internal.protocol.TensorTransfer;
import java.util.List;

/** Chooses the payload codec for a pool and its workers. Stateless. */
final class Codecs {
    private Codecs() {}

    public static TensorAwareCodec create(List<String> allowPatterns, TensorTransfer tensors) {
        return new TensorAwareCodec(new AllowList(allowPatterns), tensors);
    }
}
