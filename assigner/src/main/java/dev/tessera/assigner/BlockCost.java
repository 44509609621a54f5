package dev.tessera.assigner;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Convolution;
import ai.djl.nn.core.Linear;

/**
 * The work and the activations of one block for given input shapes, found by walking the block with DJL's {@code
 * getOutputShapes} and never running it.
 *
 * <p>The walk enters {@link SequentialBlock}s (each child gets the previous child's output shapes) and {@link
 * ParallelBlock}s (each branch gets the block's input shapes), where the input of every inner block is known. A
 * {@link Linear} costs its output elements × its input features multiply-accumulates, a {@link Convolution} its
 * output elements × (input channels / groups) × kernel size: both are output elements × weight elements / output
 * channels. Any other block that holds parameters, including a composite the walk cannot enter, costs its parameter
 * count × the batch (the first input dimension): one multiply-accumulate per parameter per sample, which is exact
 * for a dense layer and an underestimate for layers that reuse weights (recurrent layers). Blocks without
 * parameters cost 0. Activations are the output elements of every block the walk does not enter: what autograd
 * keeps for the backward pass, roughly. Not thread-safe; one instance per walk.
 */
final class BlockCost {
    private double macs;
    private double fallbackMacs;
    private double activationElements;

    private BlockCost() {}

    /** Walks {@code block} for {@code inputs}; the block must be initialised (parameter shapes known). */
    static BlockCost of(Block block, Shape[] inputs) {
        BlockCost cost = new BlockCost();
        cost.walk(block, inputs);
        return cost;
    }

    /** Multiply-accumulates: exact for Linear and Convolution blocks, the parameter fallback for the rest. */
    double complexity() {
        return macs + fallbackMacs;
    }

    /** Whether every block with parameters was a Linear or Convolution the walk reached with its shapes. */
    boolean fromShapes() {
        return fallbackMacs == 0;
    }

    /** Output elements of the blocks the walk did not enter. */
    double activationElements() {
        return activationElements;
    }

    private Shape[] walk(Block b, Shape[] in) {
        if (b instanceof SequentialBlock) {
            Shape[] x = in;
            for (Block child : b.getChildren().values()) {
                x = walk(child, x);
            }
            return x;
        }
        if (b instanceof ParallelBlock) {
            for (Block child : b.getChildren().values()) {
                walk(child, in);
            }
            return b.getOutputShapes(in);
        }
        Shape[] out = b.getOutputShapes(in);
        double outElements = elements(out);
        activationElements += outElements;
        Parameter weight = b.getDirectParameters().contains("weight") ? b.getDirectParameters().get("weight") : null;
        if ((b instanceof Linear || b instanceof Convolution) && weight != null && weight.getShape() != null) {
            Shape w = weight.getShape();
            macs += outElements * (w.size() / (double) w.get(0));
        } else {
            double params = 0;
            for (Parameter p : b.getParameters().values()) {
                params += p.getShape() == null ? 0 : p.getShape().size();
            }
            fallbackMacs += params * batch(in);
        }
        return out;
    }

    static double elements(Shape[] shapes) {
        double n = 0;
        for (Shape s : shapes) {
            n += s.size();
        }
        return n;
    }

    private static long batch(Shape[] in) {
        return in.length == 0 || in[0].dimension() == 0 ? 1 : Math.max(1, in[0].get(0));
    }
}
