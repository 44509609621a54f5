package dev.tessera.distributed.server;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import ai.djl.util.Pair;

/** The small model of the server tests and a way to give it known gradients. */
final class Models {
    private Models() {}

    /** A Linear block, 2 inputs to 1 output (weight 1x2, bias 1), initialized in {@code manager}. */
    static Block linear(NDManager manager) {
        Block b = Linear.builder().setUnits(1).build();
        b.initialize(manager, DataType.FLOAT32, new Shape(1, 2));
        return b;
    }

    /** Sets every parameter's gradient to {@code g} in every element (a backward pass of sum(p * g)). */
    static void setGradients(Block block, float g) {
        for (Pair<String, Parameter> p : block.getParameters()) {
            try (NDArray old = p.getValue().getArray().getGradient()) {
                old.muli(0); // PyTorch accumulates gradients over backward passes
            }
        }
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray loss = null;
            for (Pair<String, Parameter> p : block.getParameters()) {
                NDArray term = p.getValue().getArray().mul(g).sum();
                loss = loss == null ? term : loss.add(term);
            }
            gc.backward(loss);
        }
    }

    /** The parameters as one flat array, weight then bias. */
    static float[] flat(Block block) {
        float[] w = block.getParameters().get(0).getValue().getArray().toFloatArray();
        float[] b = block.getParameters().get(1).getValue().getArray().toFloatArray();
        return new float[] {w[0], w[1], b[0]};
    }

    /** Sets weight and bias to known values. */
    static void set(Block block, float w0, float w1, float b) {
        block.getParameters().get(0).getValue().getArray().set(new float[] {w0, w1});
        block.getParameters().get(1).getValue().getArray().set(new float[] {b});
    }
}
