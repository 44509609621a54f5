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
import dev.tessera.distributed.RpcGroup;
import dev.tessera.distributed.World;
import dev.tessera.distributed.launch.Launcher;
import dev.tessera.distributed.server.PushPullModelServer;
import dev.tessera.distributed.server.Servers;
import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.LongFunction;

/**
 * IMPALA-style reinforcement learning across JVMs (Espeholt et al., 2018), machin's {@code IMPALA} on Tessera's
 * parameter servers: rank 0 is the one learner, ranks 1..N are actors. Each actor pulls the newest policy from a
 * {@link PushPullModelServer} (nothing travels unless the learner published a newer version), plays
 * {@value #UNROLL}-step unrolls (trajectories) in its own environment, and sends each one, with the
 * log-probabilities its (behaviour) policy gave the actions taken, to the learner through a service of an
 * {@link RpcGroup}. The learner
 * trains a DJL actor-critic on batches of {@value #BATCH} unrolls with V-trace, IMPALA's off-policy correction
 * (truncated importance weights, rho-bar = c-bar = 1), since the actors act with policies a few versions behind, and
 * pushes every update to the model server.
 *
 * <p>Run without arguments it starts itself through Tessera's launcher ({@code ./tessera launch --nproc 3
 * com.example.samples.ImpalaStyle} does the same); {@code --actors N} changes the number of actors,
 * {@code --env NAME} the environment (see {@code ENVIRONMENTS}; any {@link Environment} can be added there). The
 * learner prints progress every few seconds, then evaluates the policy before and after training on the same
 * seeded episodes, and exits 1 (and so does the launcher) unless the mean reward reached the environment's target
 * and rose by at least {@value #MIN_GAIN}. Seeds are fixed; the order in which unrolls from different actors arrive
 * is not, so two runs differ slightly.
 */
public final class ImpalaStyle {
    static final int UNROLL = 20;
    static final int BATCH = 4;
    static final float GAMMA = 0.95f;
    static final int HIDDEN = 64;
    static final int MAX_UPDATES = 600;
    static final int WINDOW = 100;
    static final double MIN_GAIN = 0.3;
    static final int EVAL_EPISODES = 200;
    static final String SERVICE = "impala.unrolls";
    private static final Duration PATIENCE = Duration.ofSeconds(60);
    private static final long PROGRESS_NANOS = 3_000_000_000L;

    /**
     * An environment: episodic, discrete actions, a float vector observation; not thread-safe (one per actor).
     * Episodes end by reaching a terminal state or by the environment's own step limit.
     */
    public interface Environment {
        /** @return the length of an observation */
        int observationSize();

        /** @return the number of actions, numbered from 0 */
        int actions();

        /** Starts an episode. @return its first observation */
        float[] reset();

        /**
         * Takes one action.
         *
         * @param action in {@code [0, actions())}
         * @return the next observation, the reward and whether the episode ended
         */
        Step step(int action);
    }

    /** The outcome of one action; immutable (the observation array is the caller's once returned). */
    public record Step(float[] observation, float reward, boolean done) {}

    /** An environment's maker (from a seed) and the mean episode reward a trained policy must reach on it. */
    record Spec(LongFunction<Environment> factory, double target) {}

    /** The environments by name; the first is the default. */
    static final Map<String, Spec> ENVIRONMENTS = Map.of("chain", new Spec(ChainWalk::new, 0.7));

    /**
     * One unroll of an actor: observations {@code 0..T} (the last one to bootstrap from) row by row, and for each
     * step {@code t < T} the action, the reward, whether the episode ended after it, and the behaviour policy's
     * log-probability of the action; plus the rewards of the episodes that ended in it.
     */
    record Unroll(int actor, long policyVersion, float[] observations, int[] actions, float[] rewards, boolean[] dones,
            float[] behaviourLogProbs, float[] episodeRewards) implements Serializable {}

    private ImpalaStyle() {}

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        if (System.getenv("TESSERA_RANK") == null) {
            List<String> launch = new ArrayList<>(List.of("--nproc", Integer.toString(o.actors + 1),
                    ImpalaStyle.class.getName()));
            launch.addAll(Arrays.asList(args));
            System.exit(new Launcher(System.out, System.err).run(launch.toArray(String[]::new)));
        }
        System.setProperty("ai.djl.pytorch.num_threads", "1"); // the JVMs share the host's cores
        int status;
        try (World world = World.builder().fromEnvironment().build()) {
            RpcGroup group = world.createRpcGroup("impala", world.members());
            try (Servers.ModelServers servers = Servers.modelServers(group, List.of("policy"))) {
                PushPullModelServer policy = servers.get("policy");
                status = world.rank() == 0 ? new Learner(group, policy, o).run() : act(group, policy, o, world.rank());
            }
        }
        System.exit(status);
    }

    // ------------------------------------------------------------------------------------------------ actor

    /** An actor: pull when newer, unroll, send; until the learner answers that it has finished. */
    private static int act(RpcGroup group, PushPullModelServer policy, Options o, int rank) {
        group.barrier(PATIENCE); // the learner published version 1 and registered its service before it
        Spec spec = ENVIRONMENTS.get(o.env);
        Environment env = spec.factory().apply(o.seed + rank);
        SplittableRandom random = new SplittableRandom(o.seed * 31 + rank);
        int unrolls = 0;
        int pulls = 0;
        long steps = 0;
        try (NDManager manager = NDManager.newBaseManager()) {
            Block net = policyNet(env);
            net.initialize(manager, DataType.FLOAT32, new Shape(1, env.observationSize()));
            ParameterStore params = new ParameterStore(manager, false);
            float[] observation = env.reset();
            float episodeReward = 0;
            boolean more = true;
            while (more) {
                pulls += policy.pull(net) ? 1 : 0;
                int obs = env.observationSize();
                float[] observations = new float[(UNROLL + 1) * obs];
                int[] actions = new int[UNROLL];
                float[] rewards = new float[UNROLL];
                boolean[] dones = new boolean[UNROLL];
                float[] logProbs = new float[UNROLL];
                List<Float> ended = new ArrayList<>();
                for (int t = 0; t < UNROLL; t++) {
                    System.arraycopy(observation, 0, observations, t * obs, obs);
                    float[] p = probabilities(net, params, manager, observation);
                    actions[t] = sample(p, random);
                    logProbs[t] = (float) Math.log(p[actions[t]]);
                    Step s = env.step(actions[t]);
                    rewards[t] = s.reward();
                    dones[t] = s.done();
                    episodeReward += s.reward();
                    if (s.done()) {
                        ended.add(episodeReward);
                        episodeReward = 0;
                        observation = env.reset();
                    } else {
                        observation = s.observation();
                    }
                }
                System.arraycopy(observation, 0, observations, UNROLL * obs, obs);
                float[] episodes = new float[ended.size()];
                for (int i = 0; i < episodes.length; i++) {
                    episodes[i] = ended.get(i);
                }
                more = group.registeredSync(SERVICE, new Unroll(rank, policy.version(net), observations, actions,
                        rewards, dones, logProbs, episodes));
                unrolls++;
                steps += UNROLL;
            }
            System.out.printf(Locale.ROOT, "actor %d: %d unrolls (%d steps), pulled %d newer policies, the last "
                    + "version %d%n", rank, unrolls, steps, pulls, policy.version(net));
        }
        group.barrier(PATIENCE); // the learner has evaluated and stops serving after it
        return 0;
    }

    /** The policy's action probabilities for one observation (no gradient). */
    private static float[] probabilities(Block net, ParameterStore params, NDManager manager, float[] observation) {
        try (NDManager scope = manager.newSubManager()) {
            NDArray x = scope.create(observation, new Shape(1, observation.length));
            NDArray out = net.forward(params, new NDList(x), false).singletonOrThrow();
            int actions = (int) out.getShape().get(1) - 1;
            return out.get(":, 0:" + actions).softmax(1).toFloatArray();
        }
    }

    private static int sample(float[] p, SplittableRandom random) {
        double u = random.nextDouble();
        for (int a = 0; a < p.length - 1; a++) {
            u -= p[a];
            if (u < 0) {
                return a;
            }
        }
        return p.length - 1;
    }

    /** The actor-critic: one hidden layer, then the action logits and the state value in one output row. */
    static Block policyNet(Environment env) {
        return new SequentialBlock().add(Linear.builder().setUnits(HIDDEN).build()).add(Activation::tanh)
                .add(Linear.builder().setUnits(env.actions() + 1).build());
    }

    // ------------------------------------------------------------------------------------------------ learner

    /** The learner: takes unrolls off its service's queue, trains with V-trace, publishes every update. */
    private static final class Learner {
        private final RpcGroup group;
        private final PushPullModelServer policy;
        private final Options o;
        private final Spec spec;
        private final BlockingQueue<Unroll> queue = new ArrayBlockingQueue<>(64);
        private final Deque<Float> recent = new ArrayDeque<>();
        private volatile boolean finished;

        Learner(RpcGroup group, PushPullModelServer policy, Options o) {
            this.group = group;
            this.policy = policy;
            this.o = o;
            this.spec = ENVIRONMENTS.get(o.env);
        }

        int run() throws InterruptedException {
            Environment probe = spec.factory().apply(o.seed);
            Engine.getInstance().setRandomSeed((int) o.seed);
            try (Model model = Model.newInstance("impala-policy")) {
                model.setBlock(policyNet(probe));
                Optimizer adam = Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.003f)).build();
                // the loss is V-trace's, written below; DJL's config wants one anyway
                try (Trainer trainer = model.newTrainer(new DefaultTrainingConfig(Loss.l2Loss()).optOptimizer(adam))) {
                    trainer.initialize(new Shape(1, probe.observationSize()));
                    Block net = model.getBlock();
                    double before = evaluate(net, model.getNDManager());
                    policy.push(net, false); // version 1, before any actor pulls
                    group.register(SERVICE, args -> offer((Unroll) args[0]));
                    group.barrier(PATIENCE);
                    Result r = train(trainer, net);
                    finished = true;
                    queue.clear(); // an actor blocked in offer gets its answer now
                    double after = evaluate(net, model.getNDManager());
                    group.barrier(PATIENCE); // every actor got "finished" before the service goes
                    return report(r, before, after);
                }
            }
        }

        /** The service: queues an unroll (waiting for room) and answers whether the actor should go on. */
        private boolean offer(Unroll u) throws InterruptedException {
            if (finished) {
                return false;
            }
            if (!queue.offer(u, PATIENCE.toSeconds(), TimeUnit.SECONDS)) {
                throw new IllegalStateException("the learner took no unroll for " + PATIENCE + " (it is stuck)");
            }
            return !finished;
        }

        private record Result(int updates, int unrolls, double seconds, double meanLag) {}

        private Result train(Trainer trainer, Block net) throws InterruptedException {
            long start = System.nanoTime();
            long lastReport = start;
            int updates = 0;
            int unrolls = 0;
            double lag = 0;
            while (updates < o.maxUpdates && !(recent.size() >= WINDOW && mean(recent) >= spec.target() + 0.1)) {
                List<Unroll> batch = new ArrayList<>(BATCH);
                while (batch.size() < BATCH) {
                    Unroll u = queue.poll(PATIENCE.toSeconds(), TimeUnit.SECONDS);
                    if (u == null) {
                        throw new IllegalStateException("no unroll arrived for " + PATIENCE + " (are the actors "
                                + "alive?)");
                    }
                    batch.add(u);
                    lag += policy.version(net) - u.policyVersion();
                    for (float r : u.episodeRewards()) {
                        recent.addLast(r);
                        if (recent.size() > WINDOW) {
                            recent.removeFirst();
                        }
                    }
                }
                VTrace.step(trainer, batch);
                policy.push(net, false); // the only pusher: it always becomes the newest version
                updates++;
                unrolls += BATCH;
                long now = System.nanoTime();
                if (now - lastReport >= PROGRESS_NANOS) {
                    lastReport = now;
                    double s = (now - start) / 1e9;
                    System.out.printf(Locale.ROOT, "update %d (policy v%d): %.1f trajectories/s, %.0f steps/s, mean "
                            + "reward of the last %d episodes %.3f, policy lag %.2f versions%n", updates,
                            policy.version(net), unrolls / s, unrolls * UNROLL / s, recent.size(), mean(recent),
                            lag / unrolls);
                }
            }
            return new Result(updates, unrolls, (System.nanoTime() - start) / 1e9, lag / Math.max(1, unrolls));
        }

        /** Mean reward of the policy (sampling its actions) over the same seeded episodes every time. */
        private double evaluate(Block net, NDManager manager) {
            Environment env = spec.factory().apply(o.seed + 1_000_000);
            SplittableRandom random = new SplittableRandom(o.seed + 1_000_000);
            ParameterStore params = new ParameterStore(manager, false);
            double total = 0;
            for (int e = 0; e < EVAL_EPISODES; e++) {
                float[] observation = env.reset();
                for (boolean done = false; !done; ) {
                    Step s = env.step(sample(probabilities(net, params, manager, observation), random));
                    total += s.reward();
                    done = s.done();
                    observation = s.observation();
                }
            }
            return total / EVAL_EPISODES;
        }

        private int report(Result r, double before, double after) {
            System.out.printf(Locale.ROOT, "learner: %d updates from %d trajectories (%d environment steps) in "
                    + "%.1f s: %.1f trajectories/s, %.0f steps/s; mean policy lag %.2f versions%n", r.updates(),
                    r.unrolls(), r.unrolls() * UNROLL, r.seconds(), r.unrolls() / r.seconds(),
                    r.unrolls() * UNROLL / r.seconds(), r.meanLag());
            System.out.printf(Locale.ROOT, "mean reward over %d evaluation episodes: %.3f before training, %.3f after "
                    + "(target %.2f, gain at least %.2f)%n", EVAL_EPISODES, before, after, spec.target(), MIN_GAIN);
            if (!(after >= spec.target() && after - before >= MIN_GAIN)) {
                System.err.printf(Locale.ROOT, "the learner did not learn: mean reward %.3f -> %.3f (expected >= "
                        + "%.2f and a gain >= %.2f within %d updates)%n", before, after, spec.target(), MIN_GAIN,
                        o.maxUpdates);
                return 1;
            }
            return 0;
        }
    }

    private static double mean(Iterable<Float> values) {
        double sum = 0;
        int n = 0;
        for (float v : values) {
            sum += v;
            n++;
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    // ------------------------------------------------------------------------------------------------ options

    /** The command line: {@code [--actors N] [--env NAME] [--max-updates N] [--seed N]}. */
    record Options(int actors, String env, int maxUpdates, long seed) {
        static Options parse(String[] args) {
            int actors = 2;
            String env = "chain";
            int maxUpdates = MAX_UPDATES;
            long seed = 7;
            for (int i = 0; i < args.length; i++) {
                String value = i + 1 < args.length ? args[i + 1] : null;
                switch (args[i]) {
                    case "--actors" -> actors = positive("--actors", value);
                    case "--max-updates" -> maxUpdates = positive("--max-updates", value);
                    case "--seed" -> seed = positive("--seed", value);
                    case "--env" -> env = value;
                    default -> throw new IllegalArgumentException("unknown argument '" + args[i] + "' (expected "
                            + "--actors N, --env " + ENVIRONMENTS.keySet() + ", --max-updates N or --seed N)");
                }
                i++;
            }
            if (!ENVIRONMENTS.containsKey(env)) {
                throw new IllegalArgumentException("--env " + env + " (expected one of " + ENVIRONMENTS.keySet()
                        + ")");
            }
            return new Options(actors, env, maxUpdates, seed);
        }

        private static int positive(String option, String value) {
            try {
                int v = Integer.parseInt(String.valueOf(value));
                if (v > 0) {
                    return v;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalArgumentException(option + " " + value + " (expected a whole number > 0)");
        }
    }

    // ------------------------------------------------------------------------------------------------ V-trace

    /**
     * One learner update with V-trace (Espeholt et al., 2018, section 4.1), with lambda = 1 and the truncation levels
     * rho-bar = c-bar = 1. For an unroll with behaviour policy mu and the learner's policy pi, with
     * {@code rho_t = min(1, pi(a_t|x_t) / mu(a_t|x_t))}, {@code c_t = min(1, pi/mu)} and the discount
     * {@code g_t = gamma} (0 when the episode ended at t):
     * <pre>
     *   v_s - V(x_s) = delta_s + g_s c_s (v_{s+1} - V(x_{s+1})),   delta_s = rho_s (r_s + g_s V(x_{s+1}) - V(x_s)),
     *   v_T = V(x_T)                                               (bootstrap from the unroll's last observation)
     *   A_s = rho_s (r_s + g_s v_{s+1} - V(x_s))                   (the policy-gradient advantage)
     *   loss = -mean(A_s log pi(a_s|x_s)) + VALUE_COST * mean((v_s - V(x_s))^2) / 2 - ENTROPY_COST * mean(H(pi(.|x_s)))
     * </pre>
     * where the targets {@code v_s} and {@code A_s} are constants (computed from a detached copy of the forward
     * pass). Stateless.
     */
    static final class VTrace {
        static final float RHO_BAR = 1f;
        static final float C_BAR = 1f;
        static final float VALUE_COST = 0.5f;
        static final float ENTROPY_COST = 0.01f;

        private VTrace() {}

        /**
         * The value targets and advantages of one unroll.
         *
         * @param u the unroll (actions, rewards, dones, behaviour log-probabilities)
         * @param logPi the learner's log-probability of each action taken, {@code T} values
         * @param values the learner's state values of observations {@code 0..T}
         * @return {@code {v_s}, {A_s}}, {@code T} values each
         */
        static float[][] targets(Unroll u, float[] logPi, float[] values) {
            int steps = u.actions().length;
            float[] vs = new float[steps];
            float[] advantages = new float[steps];
            float[] rho = new float[steps];
            float correction = 0; // v_{s+1} - V(x_{s+1}); 0 at s + 1 = T
            for (int s = steps - 1; s >= 0; s--) {
                float ratio = (float) Math.exp(logPi[s] - u.behaviourLogProbs()[s]);
                rho[s] = Math.min(RHO_BAR, ratio);
                float discount = u.dones()[s] ? 0 : GAMMA;
                float delta = rho[s] * (u.rewards()[s] + discount * values[s + 1] - values[s]);
                correction = delta + discount * Math.min(C_BAR, ratio) * correction;
                vs[s] = values[s] + correction;
            }
            for (int s = 0; s < steps; s++) {
                float discount = u.dones()[s] ? 0 : GAMMA;
                float next = s + 1 < steps ? vs[s + 1] : values[steps];
                advantages[s] = rho[s] * (u.rewards()[s] + discount * next - values[s]);
            }
            return new float[][] {vs, advantages};
        }

        /** One Adam step on a batch of unrolls; returns the loss. */
        static float step(Trainer trainer, List<Unroll> batch) {
            int rowsPer = UNROLL + 1;
            int obs = batch.getFirst().observations().length / rowsPer;
            int rows = batch.size() * rowsPer;
            float[] x = new float[rows * obs];
            for (int b = 0; b < batch.size(); b++) {
                System.arraycopy(batch.get(b).observations(), 0, x, b * rowsPer * obs, rowsPer * obs);
            }
            float loss;
            try (NDManager scope = trainer.getManager().newSubManager()) {
                NDArray input = scope.create(x, new Shape(rows, obs));
                try (GradientCollector collector = trainer.newGradientCollector()) {
                    NDArray out = trainer.forward(new NDList(input)).singletonOrThrow();
                    int actions = (int) out.getShape().get(1) - 1;
                    NDArray logPi = out.get(":, 0:" + actions).logSoftmax(1);
                    NDArray values = out.get(":, " + actions);
                    Constants c = constants(batch, logPi.toFloatArray(), values.toFloatArray(), actions);
                    float n = batch.size() * UNROLL;
                    NDArray mask = scope.create(c.mask());
                    NDArray policyLoss = logPi.mul(scope.create(c.advantages(), new Shape(rows, actions))).sum()
                            .neg().div(n);
                    NDArray valueLoss = values.sub(scope.create(c.vs())).mul(mask).square().sum().mul(0.5f / n);
                    NDArray entropy = logPi.exp().mul(logPi).sum(new int[] {1}).neg().mul(mask).sum().div(n);
                    NDArray total = policyLoss.add(valueLoss.mul(VALUE_COST)).sub(entropy.mul(ENTROPY_COST));
                    loss = total.getFloat();
                    if (!Float.isFinite(loss)) {
                        throw new IllegalStateException("the V-trace loss is " + loss + " (lower the learning rate)");
                    }
                    collector.backward(total);
                }
                trainer.step();
            }
            return loss;
        }

        /** Row-aligned targets: advantages at (row, action taken), value targets and a mask of rows t < T. */
        private record Constants(float[] advantages, float[] vs, float[] mask) {}

        private static Constants constants(List<Unroll> batch, float[] logPi, float[] values, int actions) {
            int rowsPer = UNROLL + 1;
            int rows = batch.size() * rowsPer;
            float[] advantages = new float[rows * actions];
            float[] vs = new float[rows];
            float[] mask = new float[rows];
            for (int b = 0; b < batch.size(); b++) {
                Unroll u = batch.get(b);
                int first = b * rowsPer;
                float[] taken = new float[UNROLL];
                for (int t = 0; t < UNROLL; t++) {
                    taken[t] = logPi[(first + t) * actions + u.actions()[t]];
                }
                float[][] vt = targets(u, taken, Arrays.copyOfRange(values, first, first + rowsPer));
                for (int t = 0; t < UNROLL; t++) {
                    advantages[(first + t) * actions + u.actions()[t]] = vt[1][t];
                    vs[first + t] = vt[0][t];
                    mask[first + t] = 1;
                }
            }
            return new Constants(advantages, vs, mask);
        }
    }

    // ------------------------------------------------------------------------------------------------ environment

    /**
     * The built-in environment: a slippery chain of {@value #LENGTH} cells. An episode starts in cell 0; action 1
     * moves right and 0 left, but with probability {@value #SLIP} the move goes the other way (a seeded random
     * stream). Reaching the last cell ends the episode with reward 1; every step costs 0.01; an episode that has not
     * reached it ends after {@value #LIMIT} steps. The observation is the cell, one-hot. A uniformly random policy
     * earns about 0.10 on average; always moving right about 0.91.
     */
    static final class ChainWalk implements Environment {
        static final int LENGTH = 8;
        static final double SLIP = 0.1;
        static final int LIMIT = 32;
        private final SplittableRandom random;
        private int at;
        private int steps;

        ChainWalk(long seed) {
            this.random = new SplittableRandom(seed);
        }

        @Override
        public int observationSize() {
            return LENGTH;
        }

        @Override
        public int actions() {
            return 2;
        }

        @Override
        public float[] reset() {
            at = 0;
            steps = 0;
            return observation();
        }

        @Override
        public Step step(int action) {
            if (action != 0 && action != 1) {
                throw new IllegalArgumentException("action=" + action + " (expected 0 = left or 1 = right)");
            }
            boolean right = (action == 1) != (random.nextDouble() < SLIP);
            at = right ? Math.min(at + 1, LENGTH - 1) : Math.max(at - 1, 0);
            steps++;
            boolean goal = at == LENGTH - 1;
            return new Step(observation(), (goal ? 1f : 0f) - 0.01f, goal || steps >= LIMIT);
        }

        private float[] observation() {
            float[] o = new float[LENGTH];
            o[at] = 1;
            return o;
        }
    }
}
