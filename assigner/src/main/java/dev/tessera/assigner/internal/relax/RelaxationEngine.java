package dev.tessera.assigner.internal.relax;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * What the relaxation needs from a DJL engine beyond DJL's engine-neutral API (in the manner of DJL's {@code Engine}
 * / {@code PtEngine}). Implementations are stateless and thread-safe; the arrays they return belong to the manager
 * of their inputs.
 */
interface RelaxationEngine {
    /** An engine with no extras: no sparse products, so the relaxation prices edges by row gathers. */
    RelaxationEngine GENERIC = (index, values, shape) -> null;

    /**
     * A sparse COO matrix of the given shape with the 2×E {@code index} (rows, then columns) and E {@code values},
     * sharing their memory, so both must stay open as long as the result; null when the engine has none.
     */
    NDArray sparseCoo(NDArray index, NDArray values, Shape shape);

    /** The engine of the manager's arrays: PyTorch's by engine name (only then loading its classes), else generic. */
    static RelaxationEngine of(NDManager manager) {
        return PtRelaxationEngine.ENGINE_NAME.equals(manager.getEngine().getEngineName())
                ? new PtRelaxationEngine()
                : GENERIC;
    }
}
