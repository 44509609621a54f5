package dev.tessera.assigner.internal.relax;

import ai.djl.Device;
import dev.tessera.assigner.internal.CudaProbe;
import dev.tessera.assigner.internal.Problem;
import dev.tessera.assigner.internal.ProgressSink;

/**
 * Implementations are not thread-safe and run once per instance; the arrays of a {@link Result} belong to the caller.
 * The continuous phase of a placement: a relaxation of the problem, hardened to one device per model.
 */
public interface Relaxation {
    /**
     * Settings of one run: gradient steps (at most), Adam's learning rate, penalty and entropy weights, seed, device,
     * and the stopping rule's relative loss tolerance (0: always run every step).
     */
    record Settings(int iterations, double learningRate, double sizeMatchWeight, double entropyWeight, long seed,
            Device device, double stopTolerance) {
        /** Settings that run every step (no early stop). */
        public Settings(int iterations, double learningRate, double sizeMatchWeight, double entropyWeight, long seed,
                Device device) {
            this(iterations, learningRate, sizeMatchWeight, entropyWeight, seed, device, 0);
        }
    }

    /**
     * The hardened placement, the final relaxed probabilities (n×m, row-major), the last loss read, the steps run,
     * and whether the run stopped early because it had converged.
     */
    record Result(int[] argmax, float[] probabilities, double finalLoss, int steps, boolean converged) {}

    /** Runs the relaxation, reporting progress in gradient steps. */
    Result run(ProgressSink progress);

    /** The gradient relaxation on DJL, on the engine and device of {@code settings.device()}. */
    static Relaxation gradient(Problem p, Settings settings) {
        CudaProbe.prepare(CudaProbe.NVIDIA_DRIVER); // before DJL's engine starts: no cudart probe without a driver
        return new GradientRelaxation(p, settings, true);
    }
}
