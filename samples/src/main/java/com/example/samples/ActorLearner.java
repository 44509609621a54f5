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
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.tessera.pool.AsyncResult;
import dev.tessera.pool.CtxPool;
import dev.tessera.queue.SimpleQueue;
import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Actors and a learner, machin style: two actors, each in a worker JVM of a {@link CtxPool} with its own
 * environment as context, play rounds of a contextual bandit and push each round's experience (DJL NDArrays of
 * states and rewards) through a {@link SimpleQueue}; the learner in this JVM takes the experience off the queue
 * and trains a small MLP to predict the reward of a state. It prints the loss as it goes and exits with status
 * 1 unless the loss of the last steps is below half that of the first steps.
 */
public final class ActorLearner {
    private static final int FEATURES = 8;
    private static final int HIDDEN = 32;
    private static final int BATCH = 32;
    private static final int ROUNDS_PER_ACTOR = 150;
    private static final int ACTORS = 2;
    private static final int WINDOW = 20;
    private static final Duration PATIENCE = Duration.ofSeconds(60);

    private ActorLearner() {}

    /**
     * An actor's environment, its context in the pool: the queue to push to and its own random seed. The
     * reward of a state is the same function for every actor (seed 0 draws its weights), plus noise.
     */
    record Env(String queueName, int seed) implements Serializable {}

    /** One round of experience: {@code states} [BATCH, FEATURES] and the {@code rewards} [BATCH, 1] they earned. */
    record Experience(int actorSeed, int round, NDArray states, NDArray rewards) implements Serializable {}

    public static void main(String[] args) {
        System.setProperty("ai.djl.pytorch.num_threads", System.getProperty("ai.djl.pytorch.num_threads", "1"));
        long start = System.nanoTime();
        try (NDManager received = NDManager.newBaseManager();
                SimpleQueue experience = SimpleQueue.builder().optCapacity(64).optManager(received)
                        .optAllowPatterns("com.example.samples.*").create()) {
            List<Env> envs = new ArrayList<>();
            for (int i = 0; i < ACTORS; i++) {
                envs.add(new Env(experience.name(), 1 + i));
            }
            // the initializer loads PyTorch in each worker before the pool is ready, so the actors start together
            try (CtxPool<Env> actors = CtxPool.<Env>builder().setWorkerContexts(envs)
                    .optInitializer(a -> NDManager.newBaseManager().close()).build()) {
                // one long task per actor; chunksize 1, so each idle worker takes one
                AsyncResult<List<String>> acting = actors.mapAsync(ActorLearner::act,
                        java.util.Collections.nCopies(ACTORS, ROUNDS_PER_ACTOR), 1, null, null);
                System.out.printf("actors started in %.1f s; learning from queue %s%n",
                        (System.nanoTime() - start) / 1e9, experience.name());
                List<Float> losses = learn(experience, ACTORS * ROUNDS_PER_ACTOR);
                acting.get(PATIENCE).forEach(r -> System.out.println("  " + r));
                check(losses, start);
            }
        }
    }

    /** Runs in a worker JVM: plays {@code rounds} rounds in this worker's environment and queues each one. */
    static String act(Env env, Integer rounds) {
        long pid = ProcessHandle.current().pid();
        double rewardSum = 0;
        long first = 0;
        // copies: a 1 KB tensor is cheaper to copy into the message than to give its own shared segment
        try (NDManager manager = NDManager.newBaseManager();
                SimpleQueue queue = SimpleQueue.builder().optCopyTensors(true).open(env.queueName())) {
            SplittableRandom random = new SplittableRandom(env.seed());
            for (int round = 0; round < rounds; round++) {
                float[] states = new float[BATCH * FEATURES];
                float[] rewards = new float[BATCH];
                for (int b = 0; b < BATCH; b++) {
                    for (int f = 0; f < FEATURES; f++) {
                        states[b * FEATURES + f] = (float) random.nextGaussian();
                    }
                    rewards[b] = reward(states, b * FEATURES) + (float) (0.1 * random.nextGaussian());
                    rewardSum += rewards[b];
                }
                try (NDManager step = manager.newSubManager()) {
                    queue.put(new Experience(env.seed(), round, step.create(states, new Shape(BATCH, FEATURES)),
                            step.create(rewards, new Shape(BATCH, 1))));
                }
                first = first == 0 ? System.currentTimeMillis() : first;
            }
        }
        return String.format("actor %d in worker pid %d: %d rounds, mean reward %.3f; first put at %tT.%<tL, last %tT.%<tL",
                env.seed(), pid, rounds, rewardSum / (rounds * BATCH), first, System.currentTimeMillis());
    }

    /** The environment's hidden reward: a linear part plus one interaction, so a linear model cannot fit it all. */
    private static float reward(float[] states, int offset) {
        SplittableRandom weights = new SplittableRandom(0);
        double r = 0;
        for (int f = 0; f < FEATURES; f++) {
            r += weights.nextGaussian() * 0.5 * states[offset + f];
        }
        return (float) (r + 0.8 * states[offset] * states[offset + 1]);
    }

    /** The learner: one Adam step per message taken off the queue; returns the loss of every step. */
    private static List<Float> learn(SimpleQueue experience, int messages) {
        List<Float> losses = new ArrayList<>();
        try (Model model = newModel(); Trainer trainer = newTrainer(model)) {
            for (int i = 0; i < messages; i++) {
                Experience e = (Experience) experience.get(PATIENCE); // QueueTimeoutException if the actors stall
                losses.add(step(trainer, e));
                if ((i + 1) % 50 == 0) {
                    System.out.printf("step %3d: mean loss of the last %d steps %.4f (last from actor %d, round %d)%n",
                            i + 1, WINDOW, mean(losses.subList(losses.size() - WINDOW, losses.size())), e.actorSeed(),
                            e.round());
                }
            }
        }
        return losses;
    }

    /** One step on a received batch; the loss is written with PyTorch ops only, as in the Hogwild sample. */
    private static float step(Trainer trainer, Experience e) {
        try (NDManager scope = e.states().getManager().newSubManager()) {
            // duplicate(): PyTorch-owned copies, so autograd never reads the buffer the message was decoded into
            NDArray x = e.states().duplicate();
            NDArray y = e.rewards().duplicate();
            x.attach(scope);
            y.attach(scope);
            e.states().close();
            e.rewards().close();
            float loss;
            try (GradientCollector collector = trainer.newGradientCollector()) {
                NDArray predicted = trainer.forward(new NDList(x)).singletonOrThrow();
                NDArray l = predicted.sub(y).square().mean();
                loss = l.getFloat();
                collector.backward(l);
            }
            trainer.step();
            return loss;
        }
    }

    private static Model newModel() {
        Engine.getInstance().setRandomSeed(0);
        Block block = new SequentialBlock()
                .add(Linear.builder().setUnits(HIDDEN).build())
                .add(Activation::relu)
                .add(Linear.builder().setUnits(1).build());
        Model model = Model.newInstance("reward");
        model.setBlock(block);
        block.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(BATCH, FEATURES));
        return model;
    }

    private static Trainer newTrainer(Model model) {
        Optimizer adam = Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.01f)).build();
        // step() computes the loss itself; DJL's config wants one anyway
        Trainer trainer = model.newTrainer(new DefaultTrainingConfig(Loss.l2Loss()).optOptimizer(adam));
        trainer.initialize(new Shape(BATCH, FEATURES));
        return trainer;
    }

    private static void check(List<Float> losses, long start) {
        float first = mean(losses.subList(0, WINDOW));
        float last = mean(losses.subList(losses.size() - WINDOW, losses.size()));
        System.out.printf("%d steps in %.1f s: mean loss of the first %d steps %.4f, of the last %d %.4f%n",
                losses.size(), (System.nanoTime() - start) / 1e9, WINDOW, first, WINDOW, last);
        if (!(last < 0.5f * first)) {
            System.err.printf("the learner did not learn: the loss went from %.4f to %.4f (expected below half)%n",
                    first, last);
            System.exit(1);
        }
    }

    private static float mean(List<Float> values) {
        float sum = 0;
        for (float v : values) {
            sum += v;
        }
        return sum / values.size();
    }
}
