package com.example.samples;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;
import dev.tessera.distributed.RpcGroup;
import dev.tessera.distributed.World;
import dev.tessera.distributed.launch.Launcher;
import dev.tessera.distributed.server.PushPullGradServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * A program, one JVM per actor (nothing in it is shared between threads but the server and rank 0's episode count,
 * and each JVM owns its two copies of the net): asynchronous advantage actor-critic (A3C, Mnih et al. 2016, as
 * machin's {@code A3C}) on {@link CartPole}. Each actor plays its own CartPole (its own seed), and after each stretch
 * of up to 20 steps (or the end of an episode) computes n-step returns and the loss
 * {@code -mean(log pi(a|s) * advantage) + 0.5 * mean((R - V(s))^2) - 0.01 * mean(entropy)} on its DJL actor-critic,
 * pushes the gradients through a {@link PushPullGradServer} and pulls the newest parameters. Every actor's JVM is a
 * reducer (its own pushes go to it, with a batch size of one: a gradient goes on as soon as the reducer's thread is
 * free, averaged with any that came meanwhile); the primary, in rank 0's JVM next to its actor, applies them with
 * DJL's Adam (learning rate 0.001), and gradients more than 16 versions old are dropped.
 *
 * <p>Every finished episode of every actor is reported to rank 0, which counts them in the order they arrive:
 * CartPole is solved when the mean reward of the last 100 of them reaches 195. Rank 0 prints progress every few
 * seconds, stops every actor once solved or once the actors took {@code MAX_STEPS} environment steps together, and
 * exits 1 if it was not solved.
 *
 * <pre>
 * ./tessera sample DistributedA3C [ACTORS [MAX_STEPS [SEED]]] [--format json]    (defaults 2, 400000, 1)
 * ./tessera launch --nproc ACTORS com.example.samples.DistributedA3C [ACTORS [MAX_STEPS [SEED]]]
 * </pre>
 * Run without the launcher's environment it starts the actors itself through Tessera's launcher. With
 * {@code --format json} it ends with one line
 * {@code {"bench":"server","case":"a3c","actors":N,"stepsPerSec":..,"secondsToSolve":..,"steps":..}}.
 */
public final class DistributedA3C {
    private static final int HIDDEN = 64;
    /** Steps per update: returns bootstrap from the value of the state after the last one, unless it ended. */
    private static final int N_STEPS = 20;
    private static final float GAMMA = 0.99f;
    private static final float VALUE_WEIGHT = 0.5f;
    private static final float ENTROPY_WEIGHT = 0.01f;
    private static final float LEARNING_RATE = 1e-3f;
    private static final int REDUCE_BATCH = 1;
    private static final long MAX_STALENESS = 16;
    private static final String PROGRESS = "a3c.progress";
    private static final Duration PRINT_EVERY = Duration.ofSeconds(3);
    private static final Duration PATIENCE = Duration.ofMinutes(5);

    private DistributedA3C() {}

    /**
     * The command line.
     *
     * @param actors actor JVMs (the World's size)
     * @param actorsGiven whether the command line named the number of actors
     * @param maxSteps environment steps of all actors together after which an unsolved run fails
     * @param seed the seed of the model and, plus the rank, of each actor's environment and action choices
     * @param json whether to end with the JSON line
     * @param resultFile where rank 0 writes the JSON line for the JVM that launched it (internal), or null
     */
    record Options(int actors, boolean actorsGiven, long maxSteps, long seed, boolean json, Path resultFile) {
        static final String USAGE = "usage: DistributedA3C [ACTORS [MAX_STEPS [SEED]]] [--format json]";

        static Options parse(String[] args) {
            List<String> positional = new ArrayList<>();
            boolean json = false;
            Path resultFile = null;
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--format" -> {
                        if (i + 1 >= args.length || !args[i + 1].equals("json")) {
                            throw new IllegalArgumentException("--format takes 'json'; " + USAGE);
                        }
                        json = true;
                        i++;
                    }
                    case "--result-file" -> {
                        if (i + 1 >= args.length) {
                            throw new IllegalArgumentException("--result-file takes a path; " + USAGE);
                        }
                        resultFile = Path.of(args[++i]);
                    }
                    default -> positional.add(args[i]);
                }
            }
            if (positional.size() > 3) {
                throw new IllegalArgumentException("too many arguments " + positional + "; " + USAGE);
            }
            int actors = (int) number(positional, 0, "ACTORS", 2, 1, 64);
            long maxSteps = number(positional, 1, "MAX_STEPS", 400_000, 1_000, Long.MAX_VALUE);
            long seed = number(positional, 2, "SEED", 1, Long.MIN_VALUE, Long.MAX_VALUE);
            return new Options(actors, !positional.isEmpty(), maxSteps, seed, json, resultFile);
        }

        private static long number(List<String> args, int index, String name, long fallback, long min, long max) {
            if (index >= args.size()) {
                return fallback;
            }
            try {
                long v = Long.parseLong(args.get(index).replace("_", ""));
                if (v < min || v > max) {
                    throw new IllegalArgumentException(name + "=" + v + " (expected " + min + " to " + max + "); "
                            + USAGE);
                }
                return v;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(name + "='" + args.get(index) + "' (expected a whole number); "
                        + USAGE, e);
            }
        }

        /** The arguments for the actors' JVMs. */
        List<String> forActors(Path result) {
            List<String> a = new ArrayList<>(List.of(Integer.toString(actors), Long.toString(maxSteps),
                    Long.toString(seed)));
            if (json) {
                a.addAll(List.of("--format", "json"));
            }
            a.addAll(List.of("--result-file", result.toString()));
            return a;
        }
    }

    public static void main(String[] args) throws Exception {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        if (System.getenv("TESSERA_RANK") == null) {
            System.exit(launch(options));
        }
        System.setProperty("ai.djl.pytorch.num_threads", "1"); // the actors share the host's cores
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        int status;
        try (World world = World.fromEnvironment()) {
            if (options.actorsGiven() && world.worldSize() != options.actors()) {
                throw new IllegalArgumentException("ACTORS=" + options.actors() + " but the World has "
                        + world.worldSize() + " members (start as many JVMs as actors)");
            }
            status = run(world, options);
        }
        System.exit(status);
    }

    /** Starts the actors through Tessera's launcher and prints rank 0's JSON line unprefixed. */
    private static int launch(Options o) throws IOException {
        long start = System.nanoTime();
        Path result = Files.createTempFile("tessera-a3c-", ".json");
        try {
            List<String> argv = new ArrayList<>(List.of("--nproc", Integer.toString(o.actors()),
                    DistributedA3C.class.getName()));
            argv.addAll(o.forActors(result));
            int status = new Launcher(System.out, System.err).run(argv.toArray(String[]::new));
            System.out.printf(Locale.ROOT, "wall time with JVM starts and World formation: %.1f s%n",
                    (System.nanoTime() - start) / 1e9);
            if (status == 0 && o.json()) {
                System.out.println(Files.readString(result).strip());
            }
            return status;
        } finally {
            Files.deleteIfExists(result);
        }
    }

    /** One actor JVM: joins the server, acts until rank 0 says stop, and (on rank 0) reports; returns the status. */
    private static int run(World world, Options o) {
        RpcGroup group = world.createRpcGroup("a3c", world.members()).withTimeout(PATIENCE);
        Progress progress = world.rank() == 0 ? new Progress(world.worldSize(), o.maxSteps()) : null;
        if (progress != null) {
            group.register(PROGRESS, a -> progress.episode((Integer) a[0], (Integer) a[1]));
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            Block master = newNet(manager, o.seed()); // the primary's copy, updated by the optimizer
            Block net = newNet(manager, o.seed()); // this actor's copy, loaded by pulls
            PushPullGradServer.Builder b = PushPullGradServer.builder().setName("a3c").setGroup(group)
                    .setModel(master).optPrimary(world.members().getFirst()).optReducers(world.members())
                    .optReduceBatchSize(REDUCE_BATCH).optReduceMethod(PushPullGradServer.ReduceMethod.MEAN)
                    .optMaxStaleness(MAX_STALENESS);
            if (progress != null) {
                b.setOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(LEARNING_RATE)).build());
            }
            try (PushPullGradServer server = b.build()) { // collective: returns once every actor joined
                if (progress != null) {
                    progress.start();
                }
                Actor actor = new Actor(world.rank(), o.seed(), manager, net, server, group);
                actor.run();
                group.barrier(PATIENCE); // every actor stopped pushing before the primary goes
                if (progress != null) {
                    PushPullGradServer.Stats stats = server.stats();
                    System.out.printf("server: %d batches applied, %d gradients dropped as stale, model version %d%n",
                            stats.applied(), stats.droppedStale(), stats.modelVersion());
                }
            }
        }
        return progress == null ? 0 : progress.finish(o);
    }

    /** The actor-critic: a policy tower (logits of the two actions) and a value tower, both 4 -> 64 (tanh) -> out. */
    static Block newNet(NDManager manager, long seed) {
        Engine.getInstance().setRandomSeed((int) seed); // every copy starts equal; the primary's is published first
        Block policy = new SequentialBlock().add(Linear.builder().setUnits(HIDDEN).build()).add(Activation::tanh)
                .add(Linear.builder().setUnits(CartPole.ACTIONS).build());
        Block value = new SequentialBlock().add(Linear.builder().setUnits(HIDDEN).build()).add(Activation::tanh)
                .add(Linear.builder().setUnits(1).build());
        Block net = new ParallelBlock(outs -> new NDList(outs.get(0).singletonOrThrow(), outs.get(1).singletonOrThrow()),
                List.of(policy, value));
        net.initialize(manager, DataType.FLOAT32, new Shape(1, CartPole.STATE_SIZE));
        return net;
    }

    /** One actor: its environment, its copy of the net, and the loop of acting, pushing gradients and pulling. */
    private static final class Actor {
        private final int rank;
        private final CartPole env;
        private final RandomGenerator random;
        private final NDManager manager;
        private final Block net;
        private final ParameterStore params;
        private final PushPullGradServer server;
        private final RpcGroup group;
        private final float[] states = new float[N_STEPS * CartPole.STATE_SIZE];
        private final int[] actions = new int[N_STEPS];
        private double[] state;
        private int episodeReward;
        private int unreported;

        Actor(int rank, long seed, NDManager manager, Block net, PushPullGradServer server, RpcGroup group) {
            this.rank = rank;
            this.env = new CartPole(seed * 1_000 + rank);
            this.random = RandomGeneratorFactory.of("L64X128MixRandom").create(seed * 1_000 + 500 + rank);
            this.manager = manager;
            this.net = net;
            this.params = new ParameterStore(manager, false);
            this.server = server;
            this.group = group;
        }

        /** Acts, learns and reports episodes until rank 0 answers that the run is over. */
        void run() {
            server.pull(net);
            state = env.reset();
            boolean going = true;
            while (going) {
                int n = 0;
                CartPole.Step last = null;
                while (n < N_STEPS && (last == null || !last.done())) {
                    System.arraycopy(floats(state), 0, states, n * CartPole.STATE_SIZE, CartPole.STATE_SIZE);
                    actions[n] = sample(state);
                    last = env.step(actions[n]);
                    state = last.state();
                    episodeReward += (int) last.reward();
                    unreported++;
                    n++;
                }
                learn(n, last);
                if (last.done()) {
                    going = group.<Boolean>registeredSync(PROGRESS, episodeReward, unreported);
                    episodeReward = 0;
                    unreported = 0;
                    state = env.reset();
                }
            }
        }

        /** Draws an action from the policy's softmax at {@code s}. */
        private int sample(double[] s) {
            try (NDManager step = manager.newSubManager()) {
                NDArray x = step.create(floats(s), new Shape(1, CartPole.STATE_SIZE));
                float[] p = net.forward(params, new NDList(x), false).get(0).softmax(1).toFloatArray();
                return random.nextDouble() < p[0] ? 0 : 1;
            }
        }

        /** The loss of the last {@code n} steps, its gradients pushed to the server, then the newest model pulled. */
        private void learn(int n, CartPole.Step last) {
            float[] returns = returns(n, last);
            float[] taken = new float[n * CartPole.ACTIONS]; // one-hot actions
            for (int i = 0; i < n; i++) {
                taken[i * CartPole.ACTIONS + actions[i]] = 1;
            }
            try (NDManager scope = manager.newSubManager()) {
                NDArray x = scope.create(Arrays.copyOf(states, n * CartPole.STATE_SIZE), new Shape(n,
                        CartPole.STATE_SIZE));
                NDArray onehot = scope.create(taken, new Shape(n, CartPole.ACTIONS));
                NDArray target = scope.create(returns, new Shape(n));
                zeroGradients();
                try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                    NDList out = net.forward(params, new NDList(x), true);
                    NDArray logp = out.get(0).logSoftmax(1);
                    NDArray value = out.get(1).reshape(n);
                    NDArray advantage = target.sub(value).stopGradient();
                    NDArray policyLoss = logp.mul(onehot).sum(new int[] {1}).mul(advantage).mean().neg();
                    NDArray valueLoss = target.sub(value).square().mean().mul(VALUE_WEIGHT);
                    NDArray entropy = logp.exp().mul(logp).sum(new int[] {1}).mean().neg();
                    collector.backward(policyLoss.add(valueLoss).sub(entropy.mul(ENTROPY_WEIGHT)));
                }
            }
            server.push(net);
            server.pull(net);
        }

        /**
         * Discounted n-step returns: each step's reward plus {@code GAMMA} times the next step's return; after the
         * last step the value of the state it reached, or 0 if the pole fell (a cut-off at 200 steps bootstraps).
         */
        private float[] returns(int n, CartPole.Step last) {
            float next = last.terminated() ? 0 : value(last.state());
            float[] r = new float[n];
            for (int i = n - 1; i >= 0; i--) {
                next = 1 + GAMMA * next; // CartPole's reward is 1 every step
                r[i] = next;
            }
            return r;
        }

        private float value(double[] s) {
            try (NDManager step = manager.newSubManager()) {
                NDArray x = step.create(floats(s), new Shape(1, CartPole.STATE_SIZE));
                return net.forward(params, new NDList(x), false).get(1).getFloat();
            }
        }

        /** PyTorch adds each backward pass's gradients to the last ones: clear them first. */
        private void zeroGradients() {
            for (Pair<String, Parameter> p : net.getParameters()) {
                try (NDArray g = p.getValue().getArray().getGradient()) {
                    g.muli(0);
                }
            }
        }

        private static float[] floats(double[] s) {
            float[] f = new float[s.length];
            for (int i = 0; i < s.length; i++) {
                f[i] = (float) s[i];
            }
            return f;
        }
    }

    /**
     * Rank 0's count of every actor's finished episodes, in the order they arrive; thread-safe (the actors report
     * concurrently). It decides when the run is over: solved, or out of steps.
     */
    private static final class Progress {
        private final int actors;
        private final long maxSteps;
        private final int[] window = new int[CartPole.SOLVED_WINDOW];
        private long episodes;
        private long windowSum;
        private long steps;
        private long started;
        private long lastPrint;
        private long lastPrintSteps;
        private long solvedNanos = -1;
        private long solvedSteps;
        private long solvedEpisodes;

        Progress(int actors, long maxSteps) {
            this.actors = actors;
            this.maxSteps = maxSteps;
        }

        synchronized void start() {
            started = System.nanoTime();
            lastPrint = started;
        }

        /** Counts one episode of {@code reward} that took the actor {@code stepsTaken} steps; true: go on. */
        synchronized boolean episode(int reward, int stepsTaken) {
            if (isOver()) {
                return false;
            }
            windowSum += reward - window[(int) (episodes % window.length)];
            window[(int) (episodes % window.length)] = reward;
            episodes++;
            steps += stepsTaken;
            long now = System.nanoTime();
            if (episodes >= window.length && mean() >= CartPole.SOLVED_MEAN_REWARD) {
                solvedNanos = now - started;
                solvedSteps = steps;
                solvedEpisodes = episodes;
            }
            if (now - lastPrint >= PRINT_EVERY.toNanos() || isOver()) {
                System.out.printf(Locale.ROOT, "%6.1f s: %6d episodes, %8d steps, mean reward of the last %d %6.1f, "
                        + "%6.0f steps/s%n", (now - started) / 1e9, episodes, steps, Math.min(episodes,
                        window.length), mean(), (steps - lastPrintSteps) / ((now - lastPrint) / 1e9));
                lastPrint = now;
                lastPrintSteps = steps;
            }
            return !isOver();
        }

        private boolean isOver() {
            return solvedNanos >= 0 || steps >= maxSteps;
        }

        private double mean() {
            return (double) windowSum / Math.min(Math.max(episodes, 1), window.length);
        }

        /** Prints the outcome; returns the exit status (1 if not solved). */
        synchronized int finish(Options o) {
            if (solvedNanos < 0) {
                System.err.printf(Locale.ROOT, "not solved: the mean reward of the last %d episodes is %.1f after %d "
                        + "steps (MAX_STEPS=%d, expected >= %.0f; try more steps or another seed)%n",
                        Math.min(episodes, window.length), mean(), steps, maxSteps, CartPole.SOLVED_MEAN_REWARD);
                return 1;
            }
            double seconds = solvedNanos / 1e9;
            double perSecond = solvedSteps / seconds;
            System.out.printf(Locale.ROOT, "solved by %d actor(s): mean reward >= %.0f over the last %d episodes "
                    + "after %d episodes, %d steps, %.1f s (%.0f steps/s)%n", actors, CartPole.SOLVED_MEAN_REWARD,
                    window.length, solvedEpisodes, solvedSteps, seconds, perSecond);
            String json = String.format(Locale.ROOT, "{\"bench\":\"server\",\"case\":\"a3c\",\"actors\":%d,"
                    + "\"stepsPerSec\":%.1f,\"secondsToSolve\":%.2f,\"steps\":%d}", actors, perSecond, seconds,
                    solvedSteps);
            if (o.resultFile() != null) {
                try {
                    Files.writeString(o.resultFile(), json);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot write the result to " + o.resultFile(), e);
                }
            } else if (o.json()) {
                System.out.println(json);
            }
            return 0;
        }
    }
}
