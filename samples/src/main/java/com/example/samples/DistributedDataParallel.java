package com.example.samples;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.ParameterList;
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
import dev.tessera.distributed.World;
import dev.tessera.distributed.launch.Launcher;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Data-parallel training of a small MLP with 2 and then 4 JVMs, as PyTorch's DistributedDataParallel: each rank
 * trains on its share of every global batch, {@link DataParallel} averages the gradients, and rank 0 checks that its
 * replica equals one process trained on the whole batches. Run without arguments, it starts the ranks itself
 * through Tessera's launcher ({@code ./tessera launch --nproc N} does the same); it exits 1 if a replica differs.
 */
public final class DistributedDataParallel {
    private static final int FEATURES = 10;
    private static final int CLASSES = 3;
    private static final int BATCH_PER_RANK = 16;
    private static final int STEPS = 40;
    private static final double TOLERANCE = 1e-4;

    private DistributedDataParallel() {}

    public static void main(String[] args) throws Exception {
        if (System.getenv("TESSERA_RANK") == null) {
            for (int ranks : new int[] {2, 4}) {
                System.out.println("== " + ranks + " ranks");
                int status = new Launcher(System.out, System.err).run(new String[] {"--nproc",
                        Integer.toString(ranks), DistributedDataParallel.class.getName()});
                if (status != 0) {
                    System.exit(status);
                }
            }
            return;
        }
        System.setProperty("ai.djl.pytorch.num_threads", "1"); // the ranks share the host's cores
        try (World world = World.builder().fromEnvironment().build()) {
            int size = world.members().size();
            CollectiveGroup group = world.createCollectiveGroup("ddp", IntStream.range(0, size).boxed().toList());
            long start = System.nanoTime();
            float[] replica = train(world.rank(), size, DataParallel.builder(group).build());
            double seconds = (System.nanoTime() - start) / 1e9;
            if (world.rank() == 0) {
                float[] single = train(0, size, null); // one process, the same global batches
                double diff = maxDiff(replica, single);
                System.out.printf("%d ranks: %d steps in %.1f s; largest difference from one process on the "
                        + "concatenated batches: %.2e%n", size, STEPS, seconds, diff);
                if (!(diff < TOLERANCE)) {
                    System.err.println("the replica differs from single-process training");
                    System.exit(1);
                }
            }
            group.barrier();
        }
    }

    /**
     * Trains this rank's replica of a World of {@code size} ranks on rows {@code rank*B..(rank+1)*B} of each global
     * batch of {@code size*B} rows; with {@code ddp == null}, one process on the whole global batches.
     */
    private static float[] train(int rank, int size, DataParallel ddp) throws Exception {
        int batch = ddp == null ? BATCH_PER_RANK * size : BATCH_PER_RANK;
        try (NDManager manager = NDManager.newBaseManager()) {
            float[][] x = features(size);
            int rows = STEPS * batch;
            float[] mx = new float[rows * FEATURES];
            float[] my = new float[rows];
            for (int s = 0; s < STEPS; s++) {
                for (int i = 0; i < batch; i++) {
                    int global = s * size * BATCH_PER_RANK + (ddp == null ? 0 : rank * BATCH_PER_RANK) + i;
                    System.arraycopy(x[global], 0, mx, (s * batch + i) * FEATURES, FEATURES);
                    my[s * batch + i] = label(x[global]);
                }
            }
            NDArray features = manager.create(mx, new Shape(rows, FEATURES));
            NDArray labels = manager.create(my, new Shape(rows));
            ArrayDataset data = new ArrayDataset.Builder().setData(features).optLabels(labels)
                    .setSampling(batch, false).build();
            SequentialBlock mlp = new SequentialBlock().add(Linear.builder().setUnits(32).build())
                    .add(Activation::relu).add(Linear.builder().setUnits(CLASSES).build());
            try (Model model = Model.newInstance("mlp")) {
                model.setBlock(mlp);
                DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                        .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.2f)).build());
                if (ddp != null) {
                    config.addTrainingListeners(ddp);
                }
                try (Trainer trainer = model.newTrainer(config)) {
                    Engine.getInstance().setRandomSeed(1 + rank); // the replicas start apart: the broadcast fixes it
                    if (ddp != null) {
                        ddp.initialize(trainer, new Shape(batch, FEATURES));
                    } else {
                        trainer.initialize(new Shape(batch, FEATURES));
                    }
                    float before = loss(trainer, features, labels);
                    EasyTrain.fit(trainer, 1, data, null);
                    if (ddp == null || rank == 0) {
                        System.out.printf("%s: loss on its rows %.3f -> %.3f%n", ddp == null ? "one process"
                                : "rank 0", before, loss(trainer, features, labels));
                    }
                }
                return flatten(mlp.getParameters());
            }
        }
    }

    private static float loss(Trainer trainer, NDArray features, NDArray labels) {
        NDList predictions = trainer.forward(new NDList(features));
        try (NDArray loss = trainer.getLoss().evaluate(new NDList(labels), predictions)) {
            return loss.getFloat();
        } finally {
            predictions.close();
        }
    }

    private static float[][] features(int ranks) {
        SplittableRandom r = new SplittableRandom(42);
        float[][] x = new float[STEPS * ranks * BATCH_PER_RANK][FEATURES];
        for (float[] row : x) {
            for (int j = 0; j < FEATURES; j++) {
                row[j] = (float) (r.nextDouble() * 2 - 1);
            }
        }
        return x;
    }

    private static float label(float[] row) {
        return row[0] + row[1] > 0.3f ? 2 : row[2] > 0 ? 1 : 0;
    }

    private static float[] flatten(ParameterList params) {
        int n = 0;
        for (Pair<String, Parameter> p : params) {
            n += (int) p.getValue().getArray().size();
        }
        float[] out = new float[n];
        int at = 0;
        for (Pair<String, Parameter> p : params) {
            NDArray a = p.getValue().getArray();
            float[] v = a.toFloatArray();
            System.arraycopy(v, 0, out, at, v.length);
            at += v.length;
        }
        return out;
    }

    private static double maxDiff(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
