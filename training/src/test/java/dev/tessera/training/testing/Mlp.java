package dev.tessera.training.testing;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.L2Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;

/**
 * A small MLP (4 inputs, {@code hidden} units, 3 classes) and one training step whose loss uses only
 * PyTorch-owned tensors (no Java-number constants, which autograd may keep after a collection frees them).
 */
public final class Mlp {
    public static final int INPUTS = 4;
    public static final int CLASSES = 3;
    public static final int BATCH = 16;

    private Mlp() {}

    public static Block block(int hidden) {
        return new SequentialBlock()
                .add(Linear.builder().setUnits(hidden).build())
                .add(Activation::relu)
                .add(Linear.builder().setUnits(CLASSES).build());
    }

    /** A model with an initialised block; parameters drawn from {@code seed}. */
    public static Model model(int hidden, long seed) {
        return model(block(hidden), seed);
    }

    public static Model model(Block block, long seed) {
        Engine.getInstance().setRandomSeed((int) seed);
        Model model = Model.newInstance("mlp");
        model.setBlock(block);
        block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(BATCH, INPUTS));
        return model;
    }

    public static Trainer sgd(Model model) {
        return trainer(model, Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.1f)).build());
    }

    public static Trainer adam(Model model) {
        return trainer(model, Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.01f)).build());
    }

    private static Trainer trainer(Model model, Optimizer optimizer) {
        // the loss object is unused by step(); DJL requires one
        Trainer trainer = model.newTrainer(new DefaultTrainingConfig(new L2Loss()).optOptimizer(optimizer));
        trainer.initialize(new Shape(BATCH, INPUTS));
        return trainer;
    }

    /** Seeded inputs and labels, created by PyTorch. */
    public static NDList batch(NDManager manager, long seed) {
        Engine.getInstance().setRandomSeed((int) seed);
        NDArray x = manager.randomNormal(new Shape(BATCH, INPUTS));
        NDArray y = manager.randomInteger(0, CLASSES, new Shape(BATCH), DataType.INT64);
        return new NDList(x, y);
    }

    /** One forward, backward and optimizer step with a softmax cross-entropy built from PyTorch ops only. */
    public static void step(Trainer trainer, NDList batch) {
        // every array of the step is derived from the scope's copies, so it is closed with the scope
        try (NDManager scope = batch.get(0).getManager().newSubManager()) {
            NDArray x = batch.get(0).duplicate();
            NDArray y = batch.get(1).duplicate();
            x.attach(scope);
            y.attach(scope);
            try (GradientCollector collector = trainer.newGradientCollector()) {
                NDArray logits = trainer.forward(new NDList(x)).singletonOrThrow();
                NDArray target = y.oneHot(CLASSES).toType(DataType.FLOAT32, false);
                collector.backward(logits.logSoftmax(1).mul(target).sum().neg());
            }
            trainer.step();
        }
    }

    /** Every parameter value, in the block's order, as one float array. */
    public static float[] values(Block block) {
        int n = 0;
        for (Pair<String, Parameter> p : block.getParameters()) {
            n += (int) p.getValue().getArray().size();
        }
        float[] all = new float[n];
        int at = 0;
        for (Pair<String, Parameter> p : block.getParameters()) {
            float[] v = p.getValue().getArray().toFloatArray();
            System.arraycopy(v, 0, all, at, v.length);
            at += v.length;
        }
        return all;
    }

    public static double sum(float[] values) {
        double s = 0;
        for (float v : values) {
            s += v;
        }
        return s;
    }
}
