package dev.tessera.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import dev.tessera.sharedmem.DType;
import dev.tessera.sharedmem.SegmentSpaceException;
import dev.tessera.sharedmem.SharedSegment;
import dev.tessera.sharedmem.SharedTensor;
import dev.tessera.training.internal.ParameterBinding;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A DJL Block whose parameters live in shared memory, in this JVM: thread-safe to close; it owns the mappings
 * of the parameters, and the Block's NDManager holds it, so it lives as long as the Block's parameters do.
 *
 * <p>{@link #share(Block)} moves every parameter of an initialised Block into one new shared segment in place:
 * the parameter arrays keep their identity, so DJL's {@code Trainer} (forward, backward, {@code Sgd} and
 * {@code Adam} updates, which write in place) goes on working, now on shared memory. {@link #handle()} gives the
 * serialisable {@link ParameterHandle}; a worker JVM calls {@link ParameterHandle#attach(Block)} on a Block of the
 * same architecture and trains on the same memory (Hogwild: updates race, unsynchronised, by design).
 *
 * <p>Lifetime: {@link #close()} first gives the Block PyTorch-owned private copies of the current values, then
 * unmaps; the Block keeps training, on its own memory. The other processes are not affected: each holds its own
 * reference, and the segment is deleted when the last one closes. Dropping this object without closing it
 * unmaps nothing, because the Block's parameter NDManager holds it; closing that manager (the Model) closes it.
 * Do not close it while another thread runs a training step on the same Block (a Block is not thread-safe),
 * and do not keep tensors derived from a parameter (slices, an unfinished autograd graph) across the close:
 * those still point into the shared memory.
 *
 * <p>Only parameters are shared. Gradients are autograd's own tensors in PyTorch, allocated by the backward
 * pass, and DJL 0.35.1 has no way to set a tensor's gradient, so {@link Builder#optShareGradients(boolean)}
 * refuses {@code true}; each process keeps its own gradients, as in PyTorch's Hogwild example.
 */
public final class SharedParameters implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SharedParameters.class);
    /** Tensor offsets in a segment must be multiples of 64 (sharedmem's rule, one cache line). */
    private static final long ALIGNMENT = 64;

    private final ParameterHandle handle;
    private final List<ParameterBinding> bindings;
    private final Set<NDManager> managers;
    private final String resourceId = "tessera-shared-parameters-" + UUID.randomUUID();
    private final AtomicBoolean closed = new AtomicBoolean();

    private SharedParameters(ParameterHandle handle, List<ParameterBinding> bindings) {
        this.handle = handle;
        this.bindings = List.copyOf(bindings);
        this.managers = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    }

    /**
     * Moves every parameter of {@code block} into a new shared segment in the default directory, in place.
     *
     * @param block an initialised Block on the CPU (PyTorch engine)
     * @return the shared parameters, owned by the caller (and held by the Block's NDManager until closed)
     * @throws IllegalArgumentException if the Block has no parameters, is not initialised, or a parameter is not
     *     on the CPU or has a dtype shared memory does not hold
     * @throws IllegalStateException if a parameter is already on shared memory in this JVM
     * @throws SegmentSpaceException if the segment directory has no room for the parameters
     */
    public static SharedParameters share(Block block) {
        return builder().share(block);
    }

    /**
     * A builder for {@link Builder#share(Block)} with options.
     *
     * @return a new builder, not thread-safe
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The serialisable handle that worker JVMs attach with.
     *
     * @return the handle; it stays valid after close, but attaching needs some process to hold the segment
     */
    public ParameterHandle handle() {
        return handle;
    }

    /**
     * Whether {@link #close()} has not been called (nor the Block's NDManager closed).
     *
     * @return true while the Block trains on shared memory
     */
    public boolean isOpen() {
        return !closed.get();
    }

    /**
     * Gives the Block private copies of the parameters' current values, then releases this process's mapping
     * and reference. Idempotent. The Block keeps working; other processes keep sharing among themselves.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        for (ParameterBinding binding : bindings) {
            try {
                binding.release();
            } catch (RuntimeException e) {
                LOG.warn("releasing shared parameter '{}' failed: {}", binding.name(), e.toString());
            }
        }
        synchronized (managers) {
            for (NDManager manager : managers) {
                manager.detachInternal(resourceId);
            }
            managers.clear();
        }
    }

    @Override
    public String toString() {
        return "SharedParameters[" + bindings.size() + " parameters" + (isOpen() ? "" : ", closed") + "]";
    }

    static SharedParameters attach(ParameterHandle handle, Block block) {
        Map<String, NDArray> arrays = checkedArrays(block);
        checkSameLayout(handle, arrays);
        List<SharedTensor> tensors = new ArrayList<>();
        try {
            for (SharedParameter p : handle.parameters()) {
                tensors.add(p.ref().open());
            }
        } catch (RuntimeException | Error e) {
            tensors.forEach(SharedTensor::close);
            throw e;
        }
        return bindAll(handle, arrays, tensors);
    }

    private static SharedParameters shareInto(Path directory, Block block) {
        Map<String, NDArray> arrays = checkedArrays(block);
        long[] offsets = new long[arrays.size()];
        long size = 0;
        int i = 0;
        for (NDArray a : arrays.values()) {
            offsets[i++] = size;
            size += (dtypeOf(a).byteSizeOf(a.getShape().getShape()) + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        }
        List<SharedTensor> tensors = new ArrayList<>();
        List<SharedParameter> described = new ArrayList<>();
        try (SharedSegment segment = SharedSegment.builder().setSize(size).optDirectory(directory).build()) {
            i = 0;
            for (Map.Entry<String, NDArray> e : arrays.entrySet()) {
                NDArray a = e.getValue();
                SharedTensor t = segment.tensorAt(offsets[i++], dtypeOf(a), a.getShape().getShape());
                tensors.add(t);
                copyInto(a, t);
                described.add(new SharedParameter(e.getKey(), t.ref()));
            }
        } catch (RuntimeException | Error e) {
            tensors.forEach(SharedTensor::close);
            throw e;
        }
        return bindAll(new ParameterHandle(described), arrays, tensors);
    }

    private static void copyInto(NDArray array, SharedTensor tensor) {
        if (tensor.byteSize() > 0) {
            ByteBuffer values = array.toByteBuffer(true);
            tensor.segment().copyFrom(MemorySegment.ofBuffer(values).asSlice(0, tensor.byteSize()));
        }
    }

    /** Binds every array to its tensor; on a failure, undoes the bindings made so far and closes the rest. */
    private static SharedParameters bindAll(ParameterHandle handle, Map<String, NDArray> arrays,
            List<SharedTensor> tensors) {
        List<ParameterBinding> bound = new ArrayList<>();
        int i = 0;
        try {
            for (Map.Entry<String, NDArray> e : arrays.entrySet()) {
                bound.add(ParameterBinding.bind(e.getKey(), e.getValue(), tensors.get(i)));
                i++;
            }
        } catch (RuntimeException | Error e) {
            bound.forEach(ParameterBinding::release);
            tensors.subList(i, tensors.size()).forEach(SharedTensor::close);
            throw e;
        }
        SharedParameters shared = new SharedParameters(handle, bound);
        shared.holdFrom(arrays.values());
        return shared;
    }

    /** The Block's parameter managers hold this object, so it cannot be collected while the Block trains. */
    private void holdFrom(Iterable<NDArray> arrays) {
        synchronized (managers) {
            for (NDArray a : arrays) {
                NDManager manager = a.getManager();
                if (managers.add(manager)) {
                    manager.attachInternal(resourceId, this);
                }
            }
        }
    }

    /** The Block's arrays by parameter name, in the Block's order, after checking each can be shared. */
    private static Map<String, NDArray> checkedArrays(Block block) {
        Objects.requireNonNull(block, "block");
        Map<String, NDArray> arrays = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            String name = p.getKey();
            Parameter parameter = p.getValue();
            if (!parameter.isInitialized()) {
                throw new IllegalArgumentException("parameter '" + name + "' of the block is not initialised; "
                        + "call block.initialize(manager, dataType, inputShapes) (or Trainer.initialize) first");
            }
            NDArray array = parameter.getArray();
            checkSupported(name, array);
            arrays.put(name, array);
        }
        if (arrays.isEmpty()) {
            throw new IllegalArgumentException("the block " + block.getClass().getSimpleName()
                    + " has no parameters to share");
        }
        return arrays;
    }

    private static void checkSupported(String name, NDArray array) {
        String engine = array.getManager().getEngine().getEngineName();
        if (!"PyTorch".equals(engine)) {
            throw new IllegalArgumentException("parameter '" + name + "' lives on engine " + engine
                    + " (expected PyTorch: parameters are swapped in place with PtNDArray.intern)");
        }
        if (!ai.djl.Device.Type.CPU.equals(array.getDevice().getDeviceType())) {
            throw new IllegalArgumentException("parameter '" + name + "' is on " + array.getDevice()
                    + " (expected the CPU: shared memory is host memory)");
        }
        dtypeOf(array).checkDjlViewSupported();
    }

    private static DType dtypeOf(NDArray array) {
        return DType.fromDjl(array.getDataType());
    }

    private static void checkSameLayout(ParameterHandle handle, Map<String, NDArray> arrays) {
        Map<String, SharedParameter> shared = new LinkedHashMap<>();
        handle.parameters().forEach(p -> shared.put(p.name(), p));
        for (Map.Entry<String, NDArray> e : arrays.entrySet()) {
            if (!shared.containsKey(e.getKey())) {
                throw new IllegalArgumentException("block parameter '" + e.getKey() + "' " + describe(e.getValue())
                        + " is not among the shared parameters " + shared.keySet()
                        + "; attach a Block of the same architecture");
            }
        }
        for (SharedParameter p : shared.values()) {
            NDArray a = arrays.get(p.name());
            if (a == null) {
                throw new IllegalArgumentException("shared parameter '" + p.name() + "' " + new Shape(p.shape())
                        + " " + p.dtype() + " is missing from the block, which has " + arrays.keySet()
                        + "; attach a Block of the same architecture");
            }
            if (!Arrays.equals(a.getShape().getShape(), p.shape())) {
                throw new IllegalArgumentException("parameter '" + p.name() + "': shape " + a.getShape()
                        + " in the block, " + new Shape(p.shape()) + " in the shared parameters");
            }
            if (dtypeOf(a) != p.dtype()) {
                throw new IllegalArgumentException("parameter '" + p.name() + "': dtype " + dtypeOf(a)
                        + " in the block, " + p.dtype() + " in the shared parameters");
            }
        }
    }

    private static String describe(NDArray array) {
        return array.getShape() + " " + dtypeOf(array);
    }

    /** Options for {@link SharedParameters#builder()}. Not thread-safe; it owns nothing. */
    public static final class Builder {
        private Path directory;

        private Builder() {}

        /**
         * The directory of the new segment; default {@link SharedSegment#defaultDirectory()}.
         *
         * @param directory an existing directory on a shared-memory file system
         * @return this builder
         * @throws NullPointerException if {@code directory} is null
         */
        public Builder optDirectory(Path directory) {
            this.directory = Objects.requireNonNull(directory, "directory");
            return this;
        }

        /**
         * Whether gradients are shared too; default false, and {@code true} is refused: in PyTorch a gradient
         * is allocated by autograd during the backward pass and may be replaced by it, and DJL 0.35.1 has no way
         * to set a tensor's gradient, so a gradient cannot be placed in shared memory. Each process keeps its own
         * gradients, as in PyTorch's Hogwild example.
         *
         * @param shareGradients must be false
         * @return this builder
         * @throws UnsupportedOperationException if {@code shareGradients} is true
         */
        public Builder optShareGradients(boolean shareGradients) {
            if (shareGradients) {
                throw new UnsupportedOperationException("optShareGradients(true): DJL 0.35.1 cannot place a "
                        + "gradient in shared memory (PyTorch's autograd allocates it; DJL cannot set it); "
                        + "share parameters only and let each process keep its gradients");
            }
            return this;
        }

        /**
         * Moves every parameter of {@code block} into a new shared segment, in place.
         *
         * @param block an initialised Block on the CPU (PyTorch engine)
         * @return the shared parameters, owned by the caller (and held by the Block's NDManager until closed)
         * @throws IllegalArgumentException as {@link SharedParameters#share(Block)}
         * @throws IllegalStateException if a parameter is already on shared memory in this JVM
         * @throws SegmentSpaceException if the segment directory has no room for the parameters
         */
        public SharedParameters share(Block block) {
            return shareInto(directory == null ? SharedSegment.defaultDirectory() : directory, block);
        }
    }
}
