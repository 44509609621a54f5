package dev.tessera.assigner;

/**
 * Thrown when the gradient phase's loss becomes NaN or infinite, the way DJL's optimisers stop on a NaN. The
 * message gives the loss, the step and the learning rate, and says what to check: non-finite sizes, volumes or
 * distances in the input, or a learning rate ({@code updateRate}) to lower. Immutable.
 */
public final class PlacementDivergedException extends PlacementException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message the cause, naming the loss, the step and the learning rate
     */
    public PlacementDivergedException(String message) {
        super(message);
    }
}
