package dev.tessera.distributed;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.util.Pair;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Data-parallel training of one DJL model over the ranks of a {@link CollectiveGroup}, as PyTorch's
 * {@code DistributedDataParallel}: every rank holds a replica, trains on its own shard of each batch, and the
 * gradients are averaged across ranks after each backward pass, so every replica takes the same optimizer step.
 * Thread-safe; it owns nothing but temporaries it closes, and the group stays the caller's.
 *
 * <p>Use it as a {@link ai.djl.training.listener.TrainingListener} of the trainer, and start every replica from the
 * same parameters with {@link #initialize}:
 *
 * <pre>{@code
 * CollectiveGroup group = world.createCollectiveGroup("ddp", ranks);
 * DataParallel ddp = DataParallel.builder(group).build();
 * DefaultTrainingConfig config = new DefaultTrainingConfig(loss).optOptimizer(sgd).addTrainingListeners(ddp);
 * try (Trainer trainer = model.newTrainer(config)) {
 *     ddp.initialize(trainer, new Shape(batchPerRank, features)); // initialize, then rank 0's parameters everywhere
 *     EasyTrain.fit(trainer, epochs, shardOfThisRank, null);
 * }
 * }</pre>
 *
 * <p><b>Gradients.</b> After each training batch (DJL calls {@code onTrainingBatch} after backward and before the
 * optimizer's step) the gradients of every parameter that requires one are averaged in buckets of about
 * {@link Builder#optBucketBytes} bytes, in the block's parameter order: each bucket is flattened into one array and
 * all-reduced asynchronously while the next bucket is packed, as DDP's buckets do, and the averages are copied back
 * into the gradients (copies owned by PyTorch, never Java buffers). DJL exposes no per-parameter backward hook, so
 * communication cannot overlap the backward pass itself, only the packing. When every rank's loss is the mean over
 * an equal share of the global batch, the averaged gradient is the gradient of the whole batch, so the ranks train
 * exactly as one process would on the concatenated batches.
 *
 * <p><b>Limits.</b> Parameters must be on the CPU (the group's data paths are CPU paths). Parameters that need no
 * gradient (for example batch-norm running statistics) are made equal only by {@link #broadcastParameters}; they are
 * not averaged later (DDP's {@code broadcast_buffers} is not done). Every rank must use the same architecture and
 * the same number of batches per epoch; a rank with fewer batches leaves the others waiting until the group's
 * timeout.
 */
public final class DataParallel extends TrainingListenerAdapter {
    private final CollectiveGroup group;
    private final long bucketBytes;
    private final int root;
    private final Set<Block> initialized = ConcurrentHashMap.newKeySet();

    private DataParallel(Builder b) {
        this.group = b.group;
        this.bucketBytes = b.bucketBytes;
        this.root = b.root;
    }

    /**
     * A builder for data-parallel training over {@code group}.
     *
     * @param group the ranks that train together; every one of them builds its own {@code DataParallel}
     * @return a builder with the defaults (25 MiB buckets, the group's lowest rank as the source of the initial
     *     parameters)
     */
    public static Builder builder(CollectiveGroup group) {
        if (group == null) {
            throw new IllegalArgumentException("group=null (expected the CollectiveGroup of the training ranks)");
        }
        return new Builder(group);
    }

    /** The collective group the gradients are averaged over. */
    public CollectiveGroup group() {
        return group;
    }

    /**
     * Initializes the trainer's model for {@code inputShapes} (as {@link Trainer#initialize}) and then broadcasts
     * the root rank's parameters to every rank, so the replicas start equal. Every rank calls it.
     *
     * @param trainer this rank's trainer
     * @param inputShapes the input shapes of one batch on this rank
     */
    public void initialize(Trainer trainer, ai.djl.ndarray.types.Shape... inputShapes) {
        trainer.initialize(inputShapes);
        broadcastParameters(trainer.getModel().getBlock());
    }

    /**
     * Copies every parameter of {@code block} from the root rank to all ranks (in place; on the root nothing changes).
     * Every rank calls it with the same architecture.
     *
     * @param block an initialized block
     * @throws IllegalStateException if the block is not initialized
     * @throws IllegalArgumentException on every rank if the ranks' parameters differ in number, shape or dtype
     */
    public void broadcastParameters(Block block) {
        if (!block.isInitialized()) {
            throw new IllegalStateException("block " + block.getClass().getSimpleName() + " is not initialized; "
                    + "call DataParallel.initialize(trainer, inputShapes) or trainer.initialize(...) first");
        }
        for (Pair<String, Parameter> p : block.getParameters()) {
            NDArray param = p.getValue().getArray();
            checkCpu(p.getKey(), param);
            try (NDManager scratch = param.getManager().newSubManager()) {
                NDArray storage = param.stopGradient(); // the parameter's storage, outside autograd
                storage.attach(scratch);
                NDArray copy = storage.duplicate();
                copy.attach(scratch);
                group.broadcast(copy, root);
                storage.set(new NDIndex("..."), copy); // PyTorch copies into the parameter's own storage
            }
        }
        initialized.add(block);
    }

    /**
     * Averages the gradients of every parameter of {@code block} that requires one, across the group's ranks, in
     * buckets. Every rank calls it after its backward pass and before the optimizer's step ({@link #onTrainingBatch}
     * does this for a trainer).
     *
     * @param block the block whose gradients were just computed
     * @throws IllegalArgumentException on every rank if the ranks' gradients differ in number, shape or dtype
     * @throws MemberLostException if a rank died
     */
    public void averageGradients(Block block) {
        List<NDArray> grads = new ArrayList<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            Parameter parameter = p.getValue();
            if (parameter.requiresGradient() && parameter.isInitialized()) {
                checkCpu(p.getKey(), parameter.getArray());
                grads.add(parameter.getArray().getGradient());
            }
        }
        if (grads.isEmpty()) {
            return;
        }
        NDManager owner = grads.get(0).getManager();
        try (NDManager scratch = owner.newSubManager()) {
            for (NDArray g : grads) {
                g.attach(scratch); // the gradient handles getGradient made: closed with the scratch
            }
            List<Work<Void>> works = new ArrayList<>();
            List<List<NDArray>> buckets = buckets(grads);
            List<NDArray> flats = new ArrayList<>();
            for (List<NDArray> bucket : buckets) {
                NDArray flat = flatten(bucket, scratch);
                flats.add(flat);
                works.add(group.allReduceAsync(flat, ReduceOp.AVG)); // runs while the next bucket is packed
            }
            for (int b = 0; b < buckets.size(); b++) {
                works.get(b).await(group.timeout());
                unflatten(flats.get(b), buckets.get(b));
            }
        }
    }

    /** Splits the gradients, in order, into buckets of at most {@code bucketBytes} (a larger one alone). */
    private List<List<NDArray>> buckets(List<NDArray> grads) {
        List<List<NDArray>> out = new ArrayList<>();
        List<NDArray> current = new ArrayList<>();
        long bytes = 0;
        for (NDArray g : grads) {
            long n = g.size() * g.getDataType().getNumOfBytes();
            boolean sameType = current.isEmpty() || current.get(0).getDataType() == g.getDataType();
            if (!current.isEmpty() && (bytes + n > bucketBytes || !sameType)) {
                out.add(current);
                current = new ArrayList<>();
                bytes = 0;
            }
            current.add(g);
            bytes += n;
        }
        out.add(current);
        return out;
    }

    private static NDArray flatten(List<NDArray> bucket, NDManager scratch) {
        NDList flat = new NDList(bucket.size());
        for (NDArray g : bucket) {
            flat.add(g.flatten());
        }
        NDArray joined = flat.size() == 1 ? flat.get(0).duplicate() : NDArrays.concat(flat);
        joined.attach(scratch);
        flat.attach(scratch);
        return joined;
    }

    private static void unflatten(NDArray flat, List<NDArray> bucket) {
        long offset = 0;
        for (NDArray g : bucket) {
            long n = g.size();
            NDArray part = flat.get(new NDIndex(offset + ":" + (offset + n))).reshape(g.getShape());
            g.set(new NDIndex("..."), part); // index_put_: PyTorch copies into the gradient's own storage
            part.close();
            offset += n;
        }
    }

    private static void checkCpu(String name, NDArray array) {
        if (!array.getDevice().equals(ai.djl.Device.cpu())) {
            throw new IllegalArgumentException("parameter '" + name + "' is on " + array.getDevice()
                    + "; DataParallel's collectives run on the CPU (move the model with model.getBlock() on cpu)");
        }
    }

    /**
     * Broadcasts the parameters if the trainer's block is already initialized (a block initialized later is
     * broadcast by {@link #initialize} or {@link #broadcastParameters}).
     */
    @Override
    public void onTrainingBegin(Trainer trainer) {
        Block block = trainer.getModel().getBlock();
        if (block.isInitialized() && !initialized.contains(block)) {
            broadcastParameters(block);
        }
    }

    /**
     * Averages the gradients of the trainer's block across ranks (DJL calls this after backward, before the step).
     *
     * @throws IllegalStateException if the replicas were never made equal ({@link #initialize} or
     *     {@link #broadcastParameters}): training them would silently diverge
     */
    @Override
    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
        Block block = trainer.getModel().getBlock();
        if (!initialized.contains(block)) {
            throw new IllegalStateException("DataParallel: the replicas' parameters were never broadcast; call "
                    + "dataParallel.initialize(trainer, inputShapes) instead of trainer.initialize(inputShapes)");
        }
        averageGradients(block);
    }

    /** Options of a {@link DataParallel}. Not thread-safe; {@link #build()} copies them. */
    public static final class Builder {
        private final CollectiveGroup group;
        private long bucketBytes = 25L << 20;
        private int root;

        private Builder(CollectiveGroup group) {
            this.group = group;
            this.root = group.ranks().stream().mapToInt(Integer::intValue).min().orElseThrow();
        }

        /**
         * How many gradient bytes one all-reduce carries; default 25 MiB, as PyTorch DDP's {@code bucket_cap_mb}.
         *
         * @param bytes at least 1
         * @return this builder
         */
        public Builder optBucketBytes(long bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("bucketBytes=" + bytes + " (expected >= 1)");
            }
            this.bucketBytes = bytes;
            return this;
        }

        /**
         * The world rank whose parameters every replica starts from; default the group's lowest rank.
         *
         * @param rank one of the group's ranks
         * @return this builder
         */
        public Builder optRoot(int rank) {
            if (!group.ranks().contains(rank)) {
                throw new IllegalArgumentException("root=" + rank + " (expected one of the group's ranks "
                        + group.ranks() + ")");
            }
            this.root = rank;
            return this;
        }

        /** The data-parallel helper, to add to the trainer's listeners. */
        public DataParallel build() {
            return new DataParallel(this);
        }
    }
}
