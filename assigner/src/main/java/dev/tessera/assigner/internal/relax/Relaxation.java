package dev.tessera.assigner.internal.relax;

import ai.djl.Device;
import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.ProgressSink;

/**
 * Implementations are not thread-safe and run once per instance; the arrays of a {@link Result} belong to the caller.
 * The continuous phase of a placement: a relaxation of the problem, hardened to one device per model.
 */
public interface Relaxation {
    /** Settings of one run: gradient steps, Adam's learning rate, penalty and entropy weights, seed and device. */
    record Settings(int iterations, double learningRate, double sizeMatchWeight, double entropyWeight, long seed,
            Device device) {}

    /** The hardened placement and the final relaxed probabilities (n×m, row-major). */
    record Result(int[] argmax, float[] probabilities, double finalLoss) {}

    /** Runs the relaxation, reporting progress in gradient steps. */
    Result run(ProgressSink progress);

    /** The gradient relaxation on DJL, on the engine and device of {@code settings.device()}. */
    static Relaxation gradient(Problem p, Settings settings) {
        return new GradientRelaxation(p, settings, true);
    }
}
