package dev.tessera.distributed.testing;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;
import dev.tessera.distributed.CollectiveGroup;
import dev.tessera.distributed.DataParallel;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The data-parallel equivalence check: a small MLP trained by {@code size} ranks with {@link DataParallel}, each on
 * its share of every global batch, against one process trained on the whole batches. Rank 0 and the single process
 * start from seed {@link #SEED}; other ranks from other seeds, so only the initial broadcast makes them equal.
 */
public final class DdpTraining {
    public static final long SEED = 7;
    static final int FEATURES = 6;
    static final int CLASSES = 3;
    /** Rows per rank in one step. */
    static final int BATCH = 8;
    static final int STEPS = 12;

    private DdpTraining() {}

    /** This rank's replica after training with DataParallel on its shards; the parameters, flattened in order. */
    public static float[] trainDataParallel(CollectiveGroup group, int rank, int size, boolean average) {
        try (NDManager m = NDManager.newBaseManager()) {
            float[][] x = features(size);
            float[] y = labels(size);
            // rank r's rows of global step s are rows s*size*BATCH + r*BATCH ...
            int rows = STEPS * BATCH;
            float[] mx = new float[rows * FEATURES];
            float[] my = new float[rows];
            for (int s = 0; s < STEPS; s++) {
                for (int i = 0; i < BATCH; i++) {
                    int global = s * size * BATCH + rank * BATCH + i;
                    int local = s * BATCH + i;
                    System.arraycopy(x[global], 0, mx, local * FEATURES, FEATURES);
                    my[local] = y[global];
                }
            }
            DataParallel ddp = DataParallel.builder(group).optBucketBytes(200).build(); // several buckets
            return train(m, mx, my, rows, BATCH, SEED + rank, average ? ddp : null, group);
        }
    }

    /** One process on the concatenated batches ({@code size * BATCH} rows a step), from seed {@link #SEED}. */
    public static float[] trainSingle(int size) {
        try (NDManager m = NDManager.newBaseManager()) {
            float[][] x = features(size);
            int rows = STEPS * size * BATCH;
            float[] mx = new float[rows * FEATURES];
            for (int i = 0; i < rows; i++) {
                System.arraycopy(x[i], 0, mx, i * FEATURES, FEATURES);
            }
            return train(m, mx, labels(size), rows, size * BATCH, SEED, null, null);
        }
    }

    private static float[] train(NDManager m, float[] x, float[] y, int rows, int batch, long seed, DataParallel ddp,
            CollectiveGroup group) {
        ArrayDataset data = new ArrayDataset.Builder().setData(m.create(x, new Shape(rows, FEATURES)))
                .optLabels(m.create(y, new Shape(rows))).setSampling(batch, false).build();
        SequentialBlock mlp = new SequentialBlock().add(Linear.builder().setUnits(16).build())
                .add(Activation::relu).add(Linear.builder().setUnits(CLASSES).build());
        try (Model model = Model.newInstance("ddp-check")) {
            model.setBlock(mlp);
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.5f)).build());
            if (ddp != null) {
                config.addTrainingListeners(ddp);
            }
            try (Trainer trainer = model.newTrainer(config)) {
                Engine.getInstance().setRandomSeed((int) seed);
                Shape input = new Shape(batch, FEATURES);
                if (ddp != null) {
                    ddp.initialize(trainer, input);
                } else {
                    trainer.initialize(input);
                    if (group != null) {
                        DataParallel.builder(group).build().broadcastParameters(mlp); // equal start, no averaging
                    }
                }
                EasyTrain.fit(trainer, 1, data, null);
                return flatten(mlp.getParameters());
            } catch (java.io.IOException | ai.djl.translate.TranslateException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private static float[] flatten(ai.djl.nn.ParameterList params) {
        List<Float> out = new ArrayList<>();
        for (Pair<String, Parameter> p : params) {
            NDArray a = p.getValue().getArray();
            for (float f : a.toFloatArray()) {
                out.add(f);
            }
        }
        float[] r = new float[out.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = out.get(i);
        }
        return r;
    }

    private static float[][] features(int size) {
        Random r = new Random(42);
        float[][] x = new float[STEPS * size * BATCH][FEATURES];
        for (float[] row : x) {
            for (int j = 0; j < FEATURES; j++) {
                row[j] = (float) r.nextGaussian();
            }
        }
        return x;
    }

    private static float[] labels(int size) {
        float[][] x = features(size);
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i][0] + x[i][1] > 0.5 ? 2 : x[i][2] > 0 ? 1 : 0;
        }
        return y;
    }

    /** The largest absolute difference of two parameter vectors. */
    public static double maxDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new AssertionError("parameter counts differ: " + a.length + " and " + b.length);
        }
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    /** A digest of the parameters to print across processes: count, sum and sum of squares. */
    public static String digest(float[] p) {
        double sum = 0;
        double sq = 0;
        for (float f : p) {
            sum += f;
            sq += (double) f * f;
        }
        return p.length + " " + sum + " " + sq;
    }
}
