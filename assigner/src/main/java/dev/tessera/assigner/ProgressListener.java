package dev.tessera.assigner;

/**
 * Receives progress from a long placement run. Called on the thread that runs the placement; implementations
 * must be quick and must not throw.
 */
@FunctionalInterface
public interface ProgressListener {

    /** A listener that ignores everything. */
    ProgressListener NONE = (phase, done, total) -> {};

    /**
     * Reports that {@code done} of {@code total} units of {@code phase} are finished.
     *
     * @param phase "gradient", "search" or another phase name
     * @param done units finished so far
     * @param total units in the phase
     */
    void onProgress(String phase, long done, long total);
}
