package dev.tessera.distributed.server;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.util.Pair;
import dev.tessera.distributed.MemberLostException;
import dev.tessera.distributed.RpcGroup;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One member's access to a gradient server for a DJL Block (machin's {@code PushPullGradServer}); thread-safe. Clients
 * {@link #push} the gradients of their Block (copied out as float32 arrays) and {@link #pull} the newest parameters;
 * the primary owns the master model (the Block given to it, which it updates in place) and the optimizer's state;
 * each reducer owns its queue.
 *
 * <p>The flow, with the bounds machin lacks:
 * <ol>
 *   <li>a client pushes its Block's gradients, with the model version they were computed on, to one live reducer
 *       (spread by member name); if that reducer died, the client moves to the next live one and the lost reducer is
 *       reported ({@link #lostReducers()}, and a warning in the log); gradients queued in it are lost;
 *   <li>a reducer queues them (dropping the oldest beyond {@code maxQueueSize}) and reduces a batch by sum or mean
 *       when {@code reduceBatchSize} are queued or {@code maxDelay} after the first, so a few gradients are never
 *       held back forever;
 *   <li>gradients more than {@code maxStaleness} model versions old are dropped (at the reducer and again at the
 *       primary) and counted ({@link Stats#droppedStale()});
 *   <li>the primary applies a batch with the DJL {@link Optimizer} (which steps its learning-rate tracker once per
 *       applied batch: DJL counts updates per parameter), then publishes the parameters as the next version on a
 *       {@link PushPullModelServer} hosted with it; clients pull from there.
 * </ol>
 *
 * <p>{@link Builder#build()} is collective: every member of the group calls it with the same roles and options.
 *
 * <p>Limits: the primary is a single point of failure, as in machin (if it dies, reducers log and drop their batches
 * and pulls fail with {@link MemberLostException}); gradients are float32 and travel as float arrays through the
 * group's codec, not through shared memory.
 */
public final class PushPullGradServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PushPullGradServer.class);
    private static final String PREFIX = "tessera.grad.";

    /** How a reducer combines the gradients of a batch. */
    public enum ReduceMethod {
        /** Element-wise sum (machin's default). */
        SUM,
        /** Element-wise mean. */
        MEAN
    }

    /**
     * Counters of one member's roles; immutable.
     *
     * @param received gradients pushed to this member's reducer
     * @param batches batches this member's reducer handed to the primary
     * @param applied batches the primary applied (0 elsewhere)
     * @param droppedStale gradients dropped as too old, here
     * @param droppedOverflow gradients dropped because the reducer's queue was full
     * @param modelVersion the newest model version this member knows
     */
    public record Stats(long received, long batches, long applied, long droppedStale, long droppedOverflow,
            long modelVersion) implements java.io.Serializable {}

    private final String name;
    private final RpcGroup group;
    private final List<String> liveReducers;
    private final List<String> lost = new CopyOnWriteArrayList<>();
    private final OrderedServer modelStore;
    private final PushPullModelServer models;
    private final GradReducer reducer;
    private final Primary primary;
    private final AtomicBoolean closed = new AtomicBoolean();

    private PushPullGradServer(Builder b, OrderedServer modelStore, GradReducer reducer, Primary primary) {
        this.name = b.name;
        this.group = b.group;
        this.liveReducers = new CopyOnWriteArrayList<>(rotate(b.reducers, b.group.currentName()));
        this.modelStore = modelStore;
        this.models = new PushPullModelServer(modelStore, "model");
        this.reducer = reducer;
        this.primary = primary;
    }

    /** The reducers in the order this member tries them: spread over the clients by name, own reducer first. */
    private static List<String> rotate(List<String> reducers, String me) {
        int first = reducers.contains(me) ? reducers.indexOf(me) : Math.floorMod(me.hashCode(), reducers.size());
        List<String> order = new ArrayList<>(reducers.subList(first, reducers.size()));
        order.addAll(reducers.subList(0, first));
        return order;
    }

    /**
     * A builder; {@link Builder#setName}, {@link Builder#setGroup}, {@link Builder#setModel} and (on the primary)
     * {@link Builder#setOptimizer} are required.
     *
     * @return a new builder, not thread-safe
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Sends the Block's gradients (as computed by the last backward pass) to a reducer, tagged with the model version
     * the Block has ({@link #version}).
     *
     * @param block the client's Block, after a backward pass
     * @throws IllegalStateException if every reducer is lost, or a parameter has no gradient
     */
    public void push(Block block) {
        LinkedHashMap<String, float[]> gradients = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            if (p.getValue().requiresGradient()) {
                // a handle of its own, attached to the parameter's manager until closed
                try (NDArray gradient = p.getValue().getArray().getGradient()) {
                    gradients.put(p.getKey(), floats(p.getKey(), gradient));
                }
            }
        }
        long version = models.version(block);
        while (true) {
            if (liveReducers.isEmpty()) {
                throw new IllegalStateException("gradient server '" + name + "': every reducer is lost " + lost
                        + " (nothing can take gradients; restart the server)");
            }
            String to = liveReducers.getFirst();
            try {
                group.registeredSync(reduceKey(name, to), gradients, version);
                return;
            } catch (MemberLostException | NoSuchElementException e) {
                if (liveReducers.remove(to)) {
                    lost.add(to);
                    LOG.warn("gradient server '{}': reducer '{}' is lost ({}); its queued gradients are lost, pushing "
                            + "to {} instead", name, to, e.getMessage(), liveReducers);
                }
            }
        }
    }

    private static float[] floats(String name, NDArray gradient) {
        if (gradient.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("the gradient of '" + name + "' is " + gradient.getDataType()
                    + " (expected float32: the gradient server reduces float32 arrays)");
        }
        return gradient.toFloatArray();
    }

    /**
     * Loads the newest parameters into the Block, if they are newer than the Block's.
     *
     * @param block a Block of the server's architecture
     * @return true if it loaded a newer version
     */
    public boolean pull(Block block) {
        return models.pull(block);
    }

    /**
     * The model version this Block last pulled (0 before its first pull).
     *
     * @param block a Block
     * @return its version
     */
    public long version(Block block) {
        return models.version(block);
    }

    /**
     * The reducers this member found dead while pushing, in the order it found them.
     *
     * @return an immutable snapshot
     */
    public List<String> lostReducers() {
        return List.copyOf(lost);
    }

    /**
     * This member's counters (its reducer's and its primary's, if it has those roles).
     *
     * @return a snapshot
     */
    public Stats stats() {
        long version = primary != null ? primary.version.get() : reducer != null ? reducer.newestVersion() : 0;
        return new Stats(reducer == null ? 0 : reducer.received.get(), reducer == null ? 0 : reducer.batches.get(),
                primary == null ? 0 : primary.applied.get(), (reducer == null ? 0 : reducer.droppedStale.get())
                + (primary == null ? 0 : primary.droppedStale.get()), reducer == null ? 0
                : reducer.droppedOverflow.get(), version);
    }

    /**
     * Another member's counters, asked through the group.
     *
     * @param member a primary or reducer of this server
     * @return its snapshot
     * @throws NoSuchElementException if it has no role here
     */
    public Stats stats(String member) {
        return group.registeredSync(statsKey(name, member));
    }

    static String reduceKey(String server, String member) {
        return PREFIX + server + ".reduce@" + member;
    }

    static String statsKey(String server, String member) {
        return PREFIX + server + ".stats@" + member;
    }

    static String applyKey(String server) {
        return PREFIX + server + ".apply";
    }

    /**
     * Stops this member's roles (its reducer's queue is dropped; the primary's model store goes). On the primary it
     * waits for a batch being applied and refuses later ones, so the master model's manager may be closed once it
     * returned. Not collective; idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            if (!group.isDestroyed()) {
                String me = group.currentName();
                if (reducer != null) {
                    group.deregister(reduceKey(name, me));
                }
                if (primary != null) {
                    group.deregister(applyKey(name)); // no new batches; one being applied is waited for below
                }
                if (reducer != null || primary != null) {
                    group.deregister(statsKey(name, me));
                }
            }
        } finally {
            if (reducer != null) {
                reducer.close();
            }
            if (primary != null) {
                primary.close();
            }
            modelStore.close();
        }
    }

    @Override
    public String toString() {
        return "PushPullGradServer[" + name + ", reducers " + liveReducers + ", lost " + lost + "]";
    }

    /** The primary's part: the master model, the optimizer, the model version; applies one batch at a time. */
    private static final class Primary {
        private final Block model;
        private final Optimizer optimizer;
        private final long maxStaleness;
        private final PushPullModelServer publish;
        final AtomicLong version = new AtomicLong();
        final AtomicLong applied = new AtomicLong();
        final AtomicLong droppedStale = new AtomicLong();
        private boolean closed; // guarded by this

        Primary(Block model, Optimizer optimizer, long maxStaleness, PushPullModelServer publish) {
            this.model = model;
            this.optimizer = optimizer;
            this.maxStaleness = maxStaleness;
            this.publish = publish;
        }

        /** Publishes the initial parameters as version 1. */
        void start() {
            if (!publish.push(model, false)) {
                throw new IllegalStateException("the model store already holds a model (a server of this name "
                        + "exists?)");
            }
            version.set(publish.version(model));
        }

        synchronized long apply(Map<String, float[]> gradients, long oldestVersion, int count) {
            if (closed) {
                throw new IllegalStateException("the primary of this gradient server is closed; the batch of " + count
                        + " gradients is dropped");
            }
            long v = version.get();
            if (oldestVersion < v - maxStaleness) {
                droppedStale.addAndGet(count);
                return v;
            }
            for (Pair<String, Parameter> p : model.getParameters()) {
                float[] g = gradients.get(p.getKey());
                if (g == null) {
                    continue; // the parameter takes no gradient
                }
                NDArray weight = p.getValue().getArray();
                NDManager m = weight.getManager();
                try (NDArray grad = m.create(g, weight.getShape())) {
                    optimizer.update(p.getValue().getId(), weight, grad);
                }
            }
            if (!publish.push(model, false)) {
                throw new IllegalStateException("the primary's model version " + v + " is not the newest in the model "
                        + "store: another member pushed models to it");
            }
            version.set(publish.version(model));
            applied.incrementAndGet(); // after publishing: a reader that sees the count can pull the version
            return version.get();
        }

        /**
         * Waits for a batch being applied (the monitor is held while it is) and refuses later ones, so that the
         * owner may close the model's manager once {@link PushPullGradServer#close()} returned.
         */
        synchronized void close() {
            closed = true;
        }
    }

    /**
     * Roles and options of a gradient server. Not thread-safe; each setter checks its own argument, {@link #build()}
     * how they combine with the group.
     */
    public static final class Builder {
        private String name;
        private RpcGroup group;
        private Block model;
        private Optimizer optimizer;
        private String primary;
        private List<String> reducers;
        private int reduceBatchSize = 4;
        private ReduceMethod reduceMethod = ReduceMethod.SUM;
        private int maxQueueSize = 64;
        private Duration maxDelay = Duration.ofMillis(100);
        private long maxStaleness = 8;

        private Builder() {}

        /**
         * The server's name (required), unique in the group.
         *
         * @param name a non-blank name without {@code @}
         * @return this builder
         * @throws IllegalArgumentException if it is blank or holds {@code @}
         */
        public Builder setName(String name) {
            this.name = ServerArgs.name(name);
            return this;
        }

        /**
         * The RPC group of the primary, the reducers and the clients (required).
         *
         * @param group an open group
         * @return this builder
         * @throws IllegalArgumentException if it is null or destroyed
         */
        public Builder setGroup(RpcGroup group) {
            this.group = ServerArgs.group(group);
            return this;
        }

        /**
         * The model (required, initialized): on the primary the master copy, which it updates in place; elsewhere
         * it only names the architecture (every member passes the same one).
         *
         * @param model an initialized Block
         * @return this builder
         * @throws IllegalArgumentException if it is null
         */
        public Builder setModel(Block model) {
            if (model == null) {
                throw new IllegalArgumentException("model=null (expected an initialized Block)");
            }
            this.model = model;
            return this;
        }

        /**
         * The optimizer the primary applies (required on the primary; ignored elsewhere). Its learning-rate tracker
         * is stepped once per applied batch.
         *
         * @param optimizer a DJL optimizer, owned by the server from now on
         * @return this builder
         * @throws IllegalArgumentException if it is null
         */
        public Builder setOptimizer(Optimizer optimizer) {
            if (optimizer == null) {
                throw new IllegalArgumentException("optimizer=null (expected a DJL Optimizer)");
            }
            this.optimizer = optimizer;
            return this;
        }

        /**
         * The member that applies gradients and holds the model; default the group's first member.
         *
         * @param member a member of the group
         * @return this builder
         * @throws IllegalArgumentException if it is blank
         */
        public Builder optPrimary(String member) {
            if (member == null || member.isBlank()) {
                throw new IllegalArgumentException("primary='" + member + "' (expected a member's name)");
            }
            this.primary = member;
            return this;
        }

        /**
         * The members that batch and reduce gradients; default the primary alone.
         *
         * @param members distinct members of the group, at least one
         * @return this builder
         * @throws IllegalArgumentException if empty or repeated
         */
        public Builder optReducers(List<String> members) {
            if (members == null || members.isEmpty() || members.stream().distinct().count() != members.size()
                    || members.stream().anyMatch(m -> m == null || m.isBlank())) {
                throw new IllegalArgumentException("reducers=" + members + " (expected distinct member names)");
            }
            this.reducers = List.copyOf(members);
            return this;
        }

        /**
         * How many gradients a reducer batches before reducing; default 4.
         *
         * @param size at least 1
         * @return this builder
         * @throws IllegalArgumentException if below 1
         */
        public Builder optReduceBatchSize(int size) {
            if (size < 1) {
                throw new IllegalArgumentException("reduceBatchSize=" + size + " (expected >= 1)");
            }
            this.reduceBatchSize = size;
            return this;
        }

        /**
         * How a batch is reduced; default {@link ReduceMethod#SUM}.
         *
         * @param method sum or mean
         * @return this builder
         * @throws IllegalArgumentException if null
         */
        public Builder optReduceMethod(ReduceMethod method) {
            if (method == null) {
                throw new IllegalArgumentException("reduceMethod=null (expected SUM or MEAN)");
            }
            this.reduceMethod = method;
            return this;
        }

        /**
         * How many gradients a reducer queues at most (the oldest beyond are dropped); default 64.
         *
         * @param size at least the reduce batch size
         * @return this builder
         * @throws IllegalArgumentException if below 1
         */
        public Builder optMaxQueueSize(int size) {
            if (size < 1) {
                throw new IllegalArgumentException("maxQueueSize=" + size + " (expected >= 1)");
            }
            this.maxQueueSize = size;
            return this;
        }

        /**
         * How long a reducer holds fewer than a batch of gradients before reducing them anyway; default 100 ms.
         *
         * @param delay a positive duration
         * @return this builder
         * @throws IllegalArgumentException if not positive
         */
        public Builder optMaxDelay(Duration delay) {
            if (delay == null || delay.isNegative() || delay.isZero()) {
                throw new IllegalArgumentException("maxDelay=" + delay + " (expected > 0)");
            }
            this.maxDelay = delay;
            return this;
        }

        /**
         * How many model versions older than the newest a gradient may be computed on; older ones are dropped and
         * counted; default 8.
         *
         * @param versions at least 0 (0: only gradients of the newest model)
         * @return this builder
         * @throws IllegalArgumentException if negative
         */
        public Builder optMaxStaleness(long versions) {
            if (versions < 0) {
                throw new IllegalArgumentException("maxStaleness=" + versions + " (expected >= 0)");
            }
            this.maxStaleness = versions;
            return this;
        }

        /**
         * Starts this member's roles and waits until every member has: collective, every group member calls it
         * with the same roles and options.
         *
         * @return this member's accessor
         * @throws IllegalArgumentException if a required option is missing, a role is not a member of the group, or
         *     the queue is smaller than a batch
         */
        public PushPullGradServer build() {
            if (name == null || group == null || model == null) {
                throw new IllegalArgumentException("name=" + name + ", group=" + group + ", model=" + model
                        + " (all are required)");
            }
            List<String> members = group.members();
            String p = primary != null ? primary : members.getFirst();
            reducers = reducers != null ? reducers : List.of(p);
            for (String r : concat(p, reducers)) {
                if (!members.contains(r)) {
                    throw new IllegalArgumentException("member '" + r + "' of gradient server '" + name + "' is not "
                            + "in group '" + group.name() + "' " + members);
                }
            }
            if (maxQueueSize < reduceBatchSize) {
                throw new IllegalArgumentException("maxQueueSize=" + maxQueueSize + " < reduceBatchSize="
                        + reduceBatchSize + " (a batch could never fill)");
            }
            String me = group.currentName();
            if (me.equals(p) && optimizer == null) {
                throw new IllegalArgumentException("the primary '" + p + "' needs an optimizer (setOptimizer)");
            }
            OrderedServer store = OrderedServer.builder().setName(name + ".model").setGroup(group).optHost(p).build();
            Primary prim = me.equals(p) ? new Primary(model, optimizer, maxStaleness, new PushPullModelServer(store,
                    "model")) : null;
            GradReducer red = reducers.contains(me) ? new GradReducer(name, reduceBatchSize, maxQueueSize,
                    maxStaleness, maxDelay, reduceMethod == ReduceMethod.MEAN, batch -> group.registeredSync(
                    applyKey(name), batch.gradients(), batch.oldestVersion(), batch.count())) : null;
            if (prim != null) {
                prim.start();
                group.register(applyKey(name), args -> {
                    @SuppressWarnings("unchecked")
                    Map<String, float[]> g = (Map<String, float[]>) args[0];
                    return prim.apply(g, (Long) args[1], (Integer) args[2]);
                });
            }
            if (red != null) {
                group.register(reduceKey(name, me), args -> {
                    @SuppressWarnings("unchecked")
                    Map<String, float[]> g = (Map<String, float[]>) args[0];
                    return red.offer(g, (Long) args[1]);
                });
            }
            PushPullGradServer server = new PushPullGradServer(this, store, red, prim);
            if (red != null || prim != null) {
                group.register(statsKey(name, me), args -> server.stats());
            }
            group.barrier(); // every role is registered everywhere after it
            return server;
        }

        private static List<String> concat(String first, List<String> rest) {
            List<String> all = new ArrayList<>(rest);
            all.add(first);
            return all;
        }
    }
}
