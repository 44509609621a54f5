package dev.tessera.assigner;

/**
 * Thrown when no placement can satisfy the hard constraints (memory, and balance when it is set). The message
 * says which constraint fails, with the numbers, so the caller can add devices, raise {@code maxMemRatio} or
 * loosen {@code balanceTolerance}.
 */
public class PlacementInfeasibleException extends PlacementException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message the cause, naming the failing constraint and its numbers
     */
    public PlacementInfeasibleException(String message) {
        super(message);
    }
}
