package dev.tessera.pool.internal;

import java.util.List;

/** Chooses the payload codec for a pool and its workers. Stateless. */
final class Codecs {
    private Codecs() {}

    public static TensorAwareCodec create(List<String> allowPatterns, boolean copyTensors) {
        return new TensorAwareCodec(new AllowList(allowPatterns), copyTensors);
    }
}
