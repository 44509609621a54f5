package dev.tessera.training.internal;

import ai.djl.ndarray.NDArray;
import dev.tessera.sharedmem.SharedTensor;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One parameter array running on one shared tensor; not thread-safe (the caller serialises bind and release
 * against training steps on the same Block). It owns the tensor and releases it in {@link #release()}.
 *
 * <p>Binding: DJL's {@code PtNDArray.intern(other)} moves {@code other}'s native tensor handle into this array,
 * deletes the array's old handle and closes {@code other}. The array object keeps its identity, name, manager
 * and uid, so every cached reference to it (the {@code Parameter}, the trainer's {@code ParameterStore}, the
 * optimizer state keyed by parameter id) now reads and writes shared memory. The view's tensor does not
 * require a gradient, and {@code PtNDArray} caches {@code hasGradient}, so the flag is set again on the new
 * tensor; without that, backward leaves no gradient and DJL's first {@code Trainer.step} fails with "Gradient
 * values are all zeros".
 *
 * <p>Releasing: a detached PyTorch-owned clone of the current values is interned the same way, then the shared
 * tensor is closed. An array that is already released (its manager closed first) is left alone: nothing can
 * use it any more.
 */
public final class ParameterBinding {
    /** Uids of arrays bound in this JVM: a second share or attach of the same array would strand the first. */
    private static final Set<String> BOUND = ConcurrentHashMap.newKeySet();

    private final String name;
    private final NDArray array;
    private final SharedTensor tensor;
    private final boolean requiresGradient;

    private ParameterBinding(String name, NDArray array, SharedTensor tensor, boolean requiresGradient) {
        this.name = name;
        this.array = array;
        this.tensor = tensor;
        this.requiresGradient = requiresGradient;
    }

    /**
     * Moves {@code array} onto {@code tensor}'s memory in place; the tensor must already hold the values to
     * use. On failure the array is unchanged and the caller still owns the tensor.
     *
     * @param name the parameter's name, for messages
     * @param array the parameter's array, a PyTorch array on the CPU
     * @param tensor the shared memory; owned by the binding once this returns
     * @return the binding
     * @throws IllegalStateException if the array is bound already in this JVM
     */
    public static ParameterBinding bind(String name, NDArray array, SharedTensor tensor) {
        if (!BOUND.add(array.getUid())) {
            throw new IllegalStateException("parameter '" + name + "' is already on shared memory in this JVM; "
                    + "close the SharedParameters that holds it before sharing or attaching it again");
        }
        try {
            boolean grad = array.hasGradient();
            NDArray view = tensor.toNDArray(array.getManager());
            array.intern(view);
            if (grad) {
                array.setRequiresGradient(true);
            }
            return new ParameterBinding(name, array, tensor, grad);
        } catch (RuntimeException | Error e) {
            BOUND.remove(array.getUid());
            throw e;
        }
    }

    /**
     * The parameter's name.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * The shared tensor under the parameter.
     *
     * @return the tensor, owned by this binding
     */
    public SharedTensor tensor() {
        return tensor;
    }

    /**
     * Gives the array a PyTorch-owned copy of its current values, then closes the shared tensor. Call once.
     */
    public void release() {
        try {
            if (!array.isReleased() && array.getManager().isOpen()) { // a closing manager closes the array too
                NDArray copy;
                try (NDArray detached = array.stopGradient()) {
                    copy = detached.duplicate();
                }
                array.intern(copy);
                if (requiresGradient) {
                    array.setRequiresGradient(true);
                }
            }
        } finally {
            BOUND.remove(array.getUid());
            tensor.close();
        }
    }
}
