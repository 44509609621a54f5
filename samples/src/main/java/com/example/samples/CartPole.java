package com.example.samples;

import java.util.Arrays;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * The classic cart-pole control problem in plain Java, with gym's {@code CartPole-v1} dynamics; not thread-safe (one
 * per actor), and it owns only its four-number state (every state it hands out is a copy).
 *
 * <p>A pole hinged on a cart that moves along a track; each step pushes the cart left (action 0) or right (action 1)
 * with a force of 10 N for 0.02 s (explicit Euler integration). The state is {@code [x, xDot, theta, thetaDot]}
 * (metres, m/s, radians, rad/s); a reset draws each of the four uniformly in [-0.05, 0.05) from this environment's
 * seeded generator. Every step earns a reward of 1, the last one included. An episode ends when the pole leans more
 * than 12 degrees or the cart leaves [-2.4, 2.4] ({@link Step#terminated()}), or after {@link #MAX_STEPS} steps
 * ({@link Step#truncated()}): with gym's v0 cap of 200 steps the problem counts as solved when the mean reward of
 * 100 consecutive episodes is at least {@link #SOLVED_MEAN_REWARD}.
 */
public final class CartPole {
    /** Steps after which an episode is cut off (gym's CartPole-v0 limit). */
    public static final int MAX_STEPS = 200;
    /** Mean reward over {@link #SOLVED_WINDOW} consecutive episodes at which the problem is solved. */
    public static final double SOLVED_MEAN_REWARD = 195.0;
    /** How many consecutive episodes the solved rule averages. */
    public static final int SOLVED_WINDOW = 100;
    /** The state's size. */
    public static final int STATE_SIZE = 4;
    /** The number of actions (0: push left, 1: push right). */
    public static final int ACTIONS = 2;

    static final double GRAVITY = 9.8;
    static final double MASS_CART = 1.0;
    static final double MASS_POLE = 0.1;
    static final double TOTAL_MASS = MASS_CART + MASS_POLE;
    static final double HALF_LENGTH = 0.5; // gym's "length" is half the pole's length
    static final double POLE_MASS_LENGTH = MASS_POLE * HALF_LENGTH;
    static final double FORCE = 10.0;
    static final double TAU = 0.02;
    static final double THETA_LIMIT = 12 * 2 * Math.PI / 360;
    static final double X_LIMIT = 2.4;

    /**
     * One step's outcome.
     *
     * @param state the state after the step (a copy)
     * @param reward the step's reward (always 1)
     * @param terminated whether the pole fell or the cart left the track
     * @param truncated whether the episode reached {@link #MAX_STEPS} without terminating
     */
    public record Step(double[] state, double reward, boolean terminated, boolean truncated) {
        /**
         * Whether the episode is over.
         *
         * @return terminated or truncated
         */
        public boolean done() {
            return terminated || truncated;
        }
    }

    private final RandomGenerator random;
    private final double[] state = new double[STATE_SIZE];
    private int steps;
    private boolean over = true;

    /**
     * An environment whose resets draw from a generator seeded with {@code seed}; call {@link #reset()} first.
     *
     * @param seed the seed of the initial states
     */
    public CartPole(long seed) {
        this.random = RandomGeneratorFactory.of("L64X128MixRandom").create(seed);
    }

    /**
     * Starts an episode from a random state near upright and centred.
     *
     * @return the initial state (a copy)
     */
    public double[] reset() {
        for (int i = 0; i < STATE_SIZE; i++) {
            state[i] = random.nextDouble(-0.05, 0.05);
        }
        steps = 0;
        over = false;
        return state.clone();
    }

    /**
     * Pushes the cart and advances the simulation by one step of 0.02 s.
     *
     * @param action 0 (push left) or 1 (push right)
     * @return the outcome
     * @throws IllegalArgumentException if the action is neither 0 nor 1
     * @throws IllegalStateException if no episode is running (call {@link #reset()})
     */
    public Step step(int action) {
        if (action != 0 && action != 1) {
            throw new IllegalArgumentException("action=" + action + " (expected 0, push left, or 1, push right)");
        }
        if (over) {
            throw new IllegalStateException("the episode is over after " + steps + " steps (call reset())");
        }
        double[] next = dynamics(state, action);
        System.arraycopy(next, 0, state, 0, STATE_SIZE);
        steps++;
        boolean terminated = isOutOfBounds(state);
        boolean truncated = !terminated && steps >= MAX_STEPS;
        over = terminated || truncated;
        return new Step(state.clone(), 1.0, terminated, truncated);
    }

    /**
     * The steps taken in the current episode.
     *
     * @return 0 after a reset
     */
    public int steps() {
        return steps;
    }

    /**
     * The state one step after {@code s} under {@code action}: gym's equations of motion (Florian's corrected
     * cart-pole model) integrated with one explicit Euler step, positions first with the old velocities.
     *
     * @param s the state {@code [x, xDot, theta, thetaDot]}
     * @param action 0 or 1
     * @return the next state, a new array
     */
    static double[] dynamics(double[] s, int action) {
        double x = s[0];
        double xDot = s[1];
        double theta = s[2];
        double thetaDot = s[3];
        double force = action == 1 ? FORCE : -FORCE;
        double cos = Math.cos(theta);
        double sin = Math.sin(theta);
        double temp = (force + POLE_MASS_LENGTH * thetaDot * thetaDot * sin) / TOTAL_MASS;
        double thetaAcc = (GRAVITY * sin - cos * temp)
                / (HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * cos * cos / TOTAL_MASS));
        double xAcc = temp - POLE_MASS_LENGTH * thetaAcc * cos / TOTAL_MASS;
        return new double[] {x + TAU * xDot, xDot + TAU * xAcc, theta + TAU * thetaDot, thetaDot + TAU * thetaAcc};
    }

    static boolean isOutOfBounds(double[] s) {
        return s[0] < -X_LIMIT || s[0] > X_LIMIT || s[2] < -THETA_LIMIT || s[2] > THETA_LIMIT;
    }

    /** Puts the environment in a given state with a running episode (tests). */
    void set(double[] s, int stepsTaken) {
        System.arraycopy(s, 0, state, 0, STATE_SIZE);
        steps = stepsTaken;
        over = false;
    }

    @Override
    public String toString() {
        return "CartPole" + Arrays.toString(state) + " after " + steps + " steps";
    }
}
