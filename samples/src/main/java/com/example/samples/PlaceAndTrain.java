package com.example.samples;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.tessera.assigner.Devices;
import dev.tessera.assigner.ModelAssigner;
import dev.tessera.assigner.ModelGraph;
import dev.tessera.assigner.PlacedBlock;
import dev.tessera.assigner.Placement;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Builds a small residual CNN with DJL's builders (no download), reads its placement problem from the model itself
 * ({@link ModelGraph}), places its layers on this machine's devices, wraps it in a {@link PlacedBlock} and trains it
 * for a few steps with DJL's {@code EasyTrain} on synthetic images, printing where each layer went and the loss.
 *
 * <p>Without a GPU the placement is made for the documented virtual set (four 16 GB GPUs and a CPU) and printed, and
 * training runs with every layer on the CPU, since a virtual GPU has nothing to run on.
 */
public final class PlaceAndTrain {
    private static final int BATCH = 16;
    private static final int CLASSES = 4;
    private static final int EPOCHS = 15;
    private static final Shape INPUT = new Shape(BATCH, 3, 32, 32);

    private PlaceAndTrain() {}

    public static void main(String[] args) throws Exception {
        Engine.getInstance().setRandomSeed(0); // before the model is initialised, so a run repeats (on the CPU)
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            SequentialBlock net = residualCnn();
            ModelGraph graph = ModelGraph.builder().setModel(net).setInputShape(INPUT)
                    .optInitializeOn(manager).optActivations(true).build();
            boolean gpu = Devices.hasGpu();
            Placement placement = ModelAssigner.builder()
                    .addGraph(graph)
                    .setDevices(gpu ? Devices.detect() : Devices.virtualSet())
                    .optSeed(0)
                    .build()
                    .placement();
            printPlacement(graph, placement, gpu);

            PlacedBlock placed = gpu
                    ? PlacedBlock.of(net, placement)
                    : PlacedBlock.of(net, Collections.nCopies(graph.parts().size(), Device.cpu()));
            System.out.println("running as " + placed);
            train(manager, placed);
        }
    }

    /** conv-bn-relu, two residual units (the second halves the size), global pooling and a classifier. */
    private static SequentialBlock residualCnn() {
        return new SequentialBlock()
                .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1)).setFilters(16).build())
                .add(BatchNorm.builder().build())
                .add(Activation.reluBlock())
                .add(residual(16, 1))
                .add(residual(32, 2))
                .add(Pool.globalAvgPool2dBlock())
                .add(Blocks.batchFlattenBlock())
                .add(Linear.builder().setUnits(CLASSES).build());
    }

    private static Block residual(int filters, int stride) {
        SequentialBlock body = new SequentialBlock()
                .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).optStride(new Shape(stride, stride))
                        .optPadding(new Shape(1, 1)).setFilters(filters).build())
                .add(BatchNorm.builder().build())
                .add(Activation.reluBlock())
                .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1)).setFilters(filters).build())
                .add(BatchNorm.builder().build());
        SequentialBlock shortcut = new SequentialBlock()
                .add(Conv2d.builder().setKernelShape(new Shape(1, 1)).optStride(new Shape(stride, stride))
                        .setFilters(filters).build());
        return new ParallelBlock(list -> new NDList(Activation.relu(list.get(0).head().add(list.get(1).head()))),
                List.of(body, shortcut));
    }

    private static void printPlacement(ModelGraph graph, Placement placement, boolean gpu) {
        System.out.println(gpu ? "placement on this machine:" : "no GPU: placement on the virtual set (4 x 16 GB + CPU):");
        for (int i = 0; i < graph.parts().size(); i++) {
            ModelGraph.Part part = graph.parts().get(i);
            System.out.printf(Locale.ROOT, "  %-16s %-8s %8.3f MB  %12.0f MACs%s  -> %.3f MB%n", part.name(),
                    placement.assignment().get(i).name(), part.sizeMb(), part.complexity(),
                    part.complexityFromShapes() ? " " : "*", part.outputMb());
        }
        System.out.println("  (* complexity partly from the parameter count: a block that is not Linear or Conv)");
        System.out.println("  " + placement.cost());
    }

    private static void train(NDManager manager, PlacedBlock placed) throws Exception {
        ArrayDataset data = syntheticImages(manager);
        DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.001f)).build());
        try (Model model = Model.newInstance("place-and-train", Device.cpu())) {
            model.setBlock(placed);
            try (Trainer trainer = placed.newTrainer(model, config)) {
                trainer.initialize(INPUT);
                double first = loss(trainer, data);
                System.out.printf(Locale.ROOT, "before training: loss %.4f%n", first);
                double last = first;
                for (int epoch = 1; epoch <= EPOCHS; epoch++) {
                    for (Batch batch : trainer.iterateDataset(data)) {
                        EasyTrain.trainBatch(trainer, batch);
                        trainer.step();
                        batch.close();
                    }
                    last = loss(trainer, data);
                    System.out.printf(Locale.ROOT, "epoch %d: loss %.4f%n", epoch, last);
                }
                if (!(last <= first / 2)) {
                    System.err.printf(Locale.ROOT, "did not learn: loss %.4f -> %.4f (expected at most half)%n", first, last);
                    System.exit(1);
                }
            }
        }
    }

    /** 64 random images; the class says which of the first two channels are brighter than average. */
    private static ArrayDataset syntheticImages(NDManager manager) {
        Engine.getInstance().setRandomSeed(0);
        NDArray x = manager.randomNormal(new Shape(4 * BATCH, 3, 32, 32));
        NDArray zero = manager.zeros(new Shape());
        NDArray first = x.get(":, 0").reshape(4 * BATCH, -1).mean(new int[] {1}).gt(zero).toType(DataType.FLOAT32, false);
        NDArray second = x.get(":, 1").reshape(4 * BATCH, -1).mean(new int[] {1}).gt(zero).toType(DataType.FLOAT32, false);
        NDArray y = first.add(second).add(second);
        return new ArrayDataset.Builder().setData(x).optLabels(y).setSampling(BATCH, false).build();
    }

    /** Mean loss over the data set, through the trainer (inference on the placed parts). */
    private static double loss(Trainer trainer, ArrayDataset data) throws Exception {
        double sum = 0;
        int batches = 0;
        for (Batch batch : trainer.iterateDataset(data)) {
            NDList predictions = trainer.evaluate(batch.getData());
            sum += trainer.getLoss().evaluate(batch.getLabels(), predictions).getFloat();
            batches++;
            batch.close();
        }
        return sum / batches;
    }
}
