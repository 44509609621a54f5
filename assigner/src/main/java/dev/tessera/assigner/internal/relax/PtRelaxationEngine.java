package dev.tessera.assigner.internal.relax;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * The PyTorch adapter of {@link RelaxationEngine}: the one class of the assigner that names PyTorch types.
 * Stateless and thread-safe.
 */
final class PtRelaxationEngine implements RelaxationEngine {
    /** {@code PtEngine.ENGINE_NAME}, spelled out so that choosing an engine loads no PyTorch class. */
    static final String ENGINE_NAME = "PyTorch";

    /**
     * PyTorch's sparse COO tensor over the index and value tensors, sharing their memory. DJL's own
     * {@code NDManager.createCoo} closes Java-backed buffers at once, which frees that memory under the tensor, so the
     * caller passes PyTorch-owned arrays and keeps them open; arrays of another engine give null.
     */
    @Override
    public NDArray sparseCoo(NDArray index, NDArray values, Shape shape) {
        if (!(index instanceof PtNDArray ptIndex) || !(values instanceof PtNDArray ptValues)) {
            return null;
        }
        return JniUtils.createSparseCoo(ptIndex, ptValues, shape);
    }
}
