package dev.tessera.assigner;

/**
 * The base of the placement failures a caller can act on: {@link PlacementInfeasibleException} (the constraints
 * cannot be met) and {@link PlacementDivergedException} (the gradient phase produced a non-finite loss). Bad
 * arguments are {@link IllegalArgumentException}s instead. Immutable.
 */
public class PlacementException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message the cause, naming what failed and what the caller can do
     */
    public PlacementException(String message) {
        super(message);
    }
}
