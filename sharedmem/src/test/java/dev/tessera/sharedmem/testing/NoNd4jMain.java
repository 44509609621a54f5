package dev.tessera.sharedmem.testing;

import dev.tessera.sharedmem.DType;
import dev.tessera.sharedmem.SharedTensor;
import dev.tessera.sharedmem.TensorCodec;
import java.util.List;
import java.util.Map;

/** Run with a classpath that lacks ND4J and JavaCPP: uses the codec and a tensor as such a user would. */
public final class NoNd4jMain {
    private NoNd4jMain() {}

    public static void main(String[] args) {
        try (SharedTensor t = SharedTensor.builder().setDType(DType.FLOAT32).setShape(4).build()) {
            t.asByteBuffer().putFloat(0, 2.5f);
            for (TensorCodec.Mode mode : TensorCodec.Mode.values()) {
                TensorCodec codec = TensorCodec.builder().optMode(mode).build();
                Object back = codec.decode(codec.encode(Map.of("xs", List.of(1, 2), "t", t)), null);
                try (SharedTensor u = (SharedTensor) ((Map<?, ?>) back).get("t")) {
                    System.out.println(mode + " " + ((Map<?, ?>) back).get("xs") + " " + u.asByteBuffer().getFloat(0));
                }
            }
            try {
                t.toINDArray();
                System.out.println("ERROR toINDArray worked without ND4J");
            } catch (UnsupportedOperationException e) {
                System.out.println("INDARRAY " + e.getMessage());
            }
        }
    }
}
