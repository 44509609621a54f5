package com.example.samples;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.tessera.pool.ProcessPool;
import dev.tessera.training.ParameterHandle;
import dev.tessera.training.SharedParameters;
import java.io.Serializable;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Hogwild on worker JVMs: two process-pool workers train one small MLP whose parameters live in shared memory
 * ({@link SharedParameters}), each on its own half of a synthetic classification set, without locks. The
 * result is checked against single-process training on the same data with the same number of steps: the sample
 * exits with status 1 if the shared model is more than two points less accurate.
 */
public final class Hogwild {
    private static final int FEATURES = 10;
    private static final int CLASSES = 3;
    private static final int HIDDEN = 32;
    private static final int TRAIN = 3072;
    private static final int TEST = 2048;
    private static final int BATCH = 32;
    private static final int EPOCHS = 5;
    private static final int WORKERS = 2;
    private static final double TOLERANCE = 0.02;

    private Hogwild() {}

    /** What one worker needs: the shared parameters and which rows of the training set are its own. */
    record Shard(ParameterHandle parameters, int index, int count) implements Serializable {}

    public static void main(String[] args) {
        // one PyTorch thread, as the pool gives each worker: a fair baseline, and no spinning OpenMP threads
        // competing with the workers for the cores
        System.setProperty("ai.djl.pytorch.num_threads", System.getProperty("ai.djl.pytorch.num_threads", "1"));
        long start = System.nanoTime();
        double single = trainInOneProcess();
        System.out.printf("single process: %.1f s%n", (System.nanoTime() - start) / 1e9);
        double hogwild;
        try (Model model = newModel(0); ProcessPool pool = ProcessPool.builder().optWorkers(WORKERS).build()) {
            System.out.printf("shared model before training: %.3f%n", accuracy(model.getBlock()));
            SharedParameters shared = SharedParameters.share(model.getBlock()); // closed with the model
            List<Shard> shards = IntStream.range(0, WORKERS).mapToObj(i -> new Shard(shared.handle(), i, WORKERS))
                    .toList();
            List<String> reports = pool.map(Hogwild::trainShard, shards, 1);
            reports.forEach(r -> System.out.println("  " + r));
            hogwild = accuracy(model.getBlock());
        }
        System.out.printf("test accuracy: single process %.3f, Hogwild with %d worker JVMs %.3f (%.1f s)%n", single,
                WORKERS, hogwild, (System.nanoTime() - start) / 1e9);
        if (hogwild < single - TOLERANCE) {
            System.err.printf("Hogwild is %.3f below single-process training (allowed: %.2f)%n", single - hogwild,
                    TOLERANCE);
            System.exit(1);
        }
    }

    /** The baseline: one Block trained on every row for the same number of epochs. */
    private static double trainInOneProcess() {
        try (Model model = newModel(0); Trainer trainer = newTrainer(model);
                NDManager data = NDManager.newBaseManager()) {
            NDList train = dataset(data, TRAIN, 1);
            for (int epoch = 0; epoch < EPOCHS; epoch++) {
                for (int from = 0; from < TRAIN; from += BATCH) {
                    step(trainer, train, from);
                }
            }
            return accuracy(model.getBlock());
        }
    }

    /** Runs in a worker JVM: attaches a Block of the same architecture and trains it on every count-th batch. */
    static String trainShard(Shard shard) {
        try (Model model = newModel(100 + shard.index()); Trainer trainer = newTrainer(model);
                NDManager data = NDManager.newBaseManager()) {
            NDList train = dataset(data, TRAIN, 1);
            int steps = 0;
            try (SharedParameters attached = shard.parameters().attach(model.getBlock())) {
                for (int epoch = 0; epoch < EPOCHS; epoch++) {
                    for (int from = shard.index() * BATCH; from < TRAIN; from += shard.count() * BATCH) {
                        step(trainer, train, from);
                        steps++;
                    }
                }
            } // from here on this worker's Block would train on a private copy
            return "worker pid " + ProcessHandle.current().pid() + ": " + steps + " steps on shared parameters";
        }
    }

    private static Model newModel(int seed) {
        Engine.getInstance().setRandomSeed(seed);
        Block block = new SequentialBlock()
                .add(Linear.builder().setUnits(HIDDEN).build())
                .add(Activation::relu)
                .add(Linear.builder().setUnits(CLASSES).build());
        Model model = Model.newInstance("mlp");
        model.setBlock(block);
        block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(BATCH, FEATURES));
        return model;
    }

    private static Trainer newTrainer(Model model) {
        Optimizer sgd = Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.05f)).build();
        // step() computes the loss itself; DJL's config wants one anyway
        Trainer trainer = model.newTrainer(new DefaultTrainingConfig(Loss.l2Loss()).optOptimizer(sgd));
        trainer.initialize(new Shape(BATCH, FEATURES));
        return trainer;
    }

    /**
     * One SGD step on rows [from, from + BATCH). The loss, softmax cross-entropy, is written with PyTorch ops
     * only: a Java-number constant would wrap a Java buffer that autograd may still read after a collection.
     */
    private static void step(Trainer trainer, NDList dataset, int from) {
        try (NDManager scope = dataset.get(0).getManager().newSubManager()) {
            NDArray x = dataset.get(0).get("{}:{}", from, from + BATCH);
            NDArray y = dataset.get(1).get("{}:{}", from, from + BATCH);
            x.attach(scope);
            y.attach(scope);
            try (GradientCollector collector = trainer.newGradientCollector()) {
                NDArray logits = trainer.forward(new NDList(x)).singletonOrThrow();
                NDArray target = y.oneHot(CLASSES).toType(DataType.FLOAT32, false);
                collector.backward(logits.logSoftmax(1).mul(target).sum(new int[] {1}).mean().neg());
            }
            trainer.step();
        }
    }

    private static double accuracy(Block block) {
        try (NDManager data = NDManager.newBaseManager()) {
            NDList test = dataset(data, TEST, 2);
            NDArray logits = block.forward(new ParameterStore(data, false), new NDList(test.get(0)), false)
                    .singletonOrThrow();
            long correct = logits.argMax(1).eq(test.get(1)).sum().getLong();
            return (double) correct / TEST;
        }
    }

    /**
     * Three Gaussian classes in 10 dimensions whose centres are 1.2 standard deviations apart per dimension on
     * average, so that no model gets every row right. The centres come from seed 0; the rows from {@code seed}.
     */
    private static NDList dataset(NDManager manager, int rows, long seed) {
        SplittableRandom centres = new SplittableRandom(0);
        float[][] centre = new float[CLASSES][FEATURES];
        for (float[] c : centre) {
            for (int f = 0; f < FEATURES; f++) {
                c[f] = (float) (centres.nextGaussian() * 0.6);
            }
        }
        SplittableRandom random = new SplittableRandom(seed);
        float[] x = new float[rows * FEATURES];
        long[] y = new long[rows];
        for (int r = 0; r < rows; r++) {
            int label = random.nextInt(CLASSES);
            y[r] = label;
            for (int f = 0; f < FEATURES; f++) {
                x[r * FEATURES + f] = centre[label][f] + (float) random.nextGaussian();
            }
        }
        // duplicate(): PyTorch-owned copies, so no tensor of a step rests on a Java buffer
        return new NDList(manager.create(x, new Shape(rows, FEATURES)).duplicate(), manager.create(y).duplicate());
    }
}
