package dev.tessera.distributed.server;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import java.util.LinkedHashMap;
import java.util.Map;

/** Reads and writes the parameter values of a DJL Block by name; stateless. */
final class Parameters {
    private Parameters() {}

    /** The block's parameter arrays by name (the block's own arrays: not copies). */
    static Map<String, NDArray> values(Block block) {
        Map<String, NDArray> values = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            values.put(p.getKey(), initialized(p).getArray());
        }
        return values;
    }

    /** Copies {@code values} into the block's parameters, checking names and shapes; closes nothing. */
    static void load(Block block, Map<String, NDArray> values) {
        for (Pair<String, Parameter> p : block.getParameters()) {
            NDArray v = values.get(p.getKey());
            NDArray mine = initialized(p).getArray();
            if (v == null || !v.getShape().equals(mine.getShape())) {
                throw new IllegalArgumentException("parameter '" + p.getKey() + "' of shape " + mine.getShape()
                        + " does not match the server's " + (v == null ? "model, which lacks it" : v.getShape())
                        + " (client and server must use the same model architecture)");
            }
            // a PyTorch copy into the parameter's own storage, through a detached view (a parameter that requires
            // a gradient may not be written in place while autograd records); not mine.set(v.toByteBuffer()), which
            // points the tensor at a Java buffer (from_blob): other handles of that tensor, and the optimizer's
            // in-place updates, would then live in memory the GC owns
            try (NDArray storage = mine.stopGradient()) {
                storage.set(new NDIndex("..."), v);
            }
        }
    }

    private static Parameter initialized(Pair<String, Parameter> p) {
        if (!p.getValue().isInitialized()) {
            throw new IllegalStateException("parameter '" + p.getKey() + "' is not initialized (call "
                    + "block.initialize(...) first)");
        }
        return p.getValue();
    }
}
