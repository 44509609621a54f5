package dev.tessera.distributed.internal.collective;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.tessera.sharedmem.DType;
import dev.tessera.sharedmem.SharedTensor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One tensor of a collective, as bytes: a {@link SharedTensor} is read and written in place; an {@link NDArray} on
 * the CPU is read through its buffer and copied back into its own storage by {@link #commit()}; an NDArray on a CUDA
 * device is only described here ({@link #isCuda()}, {@link #array()}): the NCCL engine reads its device memory. Not thread-safe; used by
 * the one thread running the operation. It owns only the scratch buffer of an NDArray's result (garbage
 * collected once {@link #commit()} copied it).
 */
public final class CollBuffer {
    private final NDArray array;
    private final SharedTensor shared;
    private final DType dtype;
    private final long[] shape;
    private final long byteSize;
    private final String invalid;
    private final int cudaIndex;
    private int tensors = 1;
    private MemorySegment source;
    private java.nio.ByteBuffer scratch;
    private MemorySegment target;

    private CollBuffer(NDArray array, SharedTensor shared, DType dtype, long[] shape, long byteSize, String invalid,
            int cudaIndex) {
        this.cudaIndex = cudaIndex;
        this.array = array;
        this.shared = shared;
        this.dtype = dtype;
        this.shape = shape;
        this.byteSize = byteSize;
        this.invalid = invalid;
    }

    /** An NDArray on the CPU or a CUDA device; one of another type or device is {@link #invalid()}, not an exception. */
    public static CollBuffer of(NDArray array) {
        DType t = dtypeOf(array.getDataType());
        long[] shape = array.getShape().getShape();
        String invalid = null;
        String kind = array.getDevice().getDeviceType();
        boolean cuda = ai.djl.Device.Type.GPU.equals(kind);
        if (t == null) {
            invalid = "dtype " + array.getDataType() + " is not supported (expected one of " + Arrays.toString(
                    DType.values()) + ")";
        } else if (!cuda && !ai.djl.Device.Type.CPU.equals(kind)) {
            invalid = "the NDArray is on " + array.getDevice() + " (collectives take CPU or CUDA tensors; copy it "
                    + "with toDevice(Device.cpu(), true))";
        }
        long bytes = t == null ? 0 : array.size() * t.byteSize();
        return new CollBuffer(array, null, t, shape, bytes, invalid, cuda ? array.getDevice().getDeviceId() : -1);
    }

    /** A shared tensor, read and written in place. */
    public static CollBuffer of(SharedTensor tensor) {
        String invalid = tensor.isReadOnly() ? "the SharedTensor is read-only" : null;
        return new CollBuffer(null, tensor, tensor.dtype(), tensor.shape(), tensor.byteSize(), invalid, -1);
    }

    /**
     * Marks this buffer as the local result of a list of {@code n} tensors (a multi-GPU collective reduces or stacks
     * its list into one buffer first); its header carries {@code n}, so ranks whose lists differ in length fail.
     *
     * @return this buffer
     */
    public CollBuffer standingFor(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("n=" + n + " (expected >= 1)");
        }
        this.tensors = n;
        return this;
    }

    /** How many of the caller's tensors this buffer stands for: 1 unless {@link #standingFor} said otherwise. */
    public int tensors() {
        return tensors;
    }

    /** Whether this is an NDArray on a CUDA device (for the NCCL engine; {@link #source()} is then refused). */
    public boolean isCuda() {
        return cudaIndex >= 0;
    }

    /** The CUDA device's index, or -1 for host memory. */
    public int deviceIndex() {
        return cudaIndex;
    }

    /** The NDArray, or null for a shared tensor. */
    public NDArray array() {
        return array;
    }

    private static DType dtypeOf(DataType t) {
        for (DType d : DType.values()) {
            if (d.toDjl() == t) {
                return d;
            }
        }
        return null;
    }

    /** Whether {@link #target()} is the tensor's own memory (a shared tensor), so the source is overwritten. */
    public boolean inPlace() {
        return shared != null;
    }

    /** Why this tensor cannot take part, or null. */
    public String invalid() {
        return invalid;
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public long byteSize() {
        return byteSize;
    }

    /** The tensor's bytes as they are now (a view: read before anything is written to {@link #target()}). */
    public MemorySegment source() {
        hostOnly();
        if (source == null) {
            if (shared != null) {
                source = shared.segment();
            } else {
                var buffer = array.toByteBuffer(); // a copy: a direct view may be of a temporary
                if (buffer.order() != ByteOrder.nativeOrder() && dtype.byteSize() > 1) {
                    throw new IllegalStateException("the NDArray's buffer is " + buffer.order() + " (expected the "
                            + "native order)");
                }
                source = MemorySegment.ofBuffer(buffer);
            }
        }
        return source;
    }

    /** Where the result goes: the tensor itself (shared) or scratch memory that {@link #commit()} copies in. */
    public MemorySegment target() {
        hostOnly();
        if (target == null) {
            if (shared != null) {
                target = shared.segment();
            } else {
                // GC-managed: commit copies it into the array and drops it
                scratch = java.nio.ByteBuffer.allocateDirect((int) byteSize).order(ByteOrder.nativeOrder());
                target = MemorySegment.ofBuffer(scratch);
            }
        }
        return target;
    }

    private void hostOnly() {
        if (isCuda()) {
            throw new IllegalStateException("a CUDA tensor reached a host-memory engine (a bug: the group routes CUDA "
                    + "tensors to NCCL)");
        }
    }

    /** Writes the result into the NDArray (a shared tensor already holds it) and frees the scratch memory. */
    public void commit() {
        if (array != null && target != null) {
            // into the array's own storage, by a PyTorch copy: NDArray.set(direct buffer) makes PyTorch point the
            // tensor at the Java buffer (from_blob, no copy), so every other handle of that tensor (a parameter's
            // gradient, which DJL hands out as a fresh NDArray each time) would follow memory the GC frees once
            // that NDArray is gone, and views taken before would not see the result
            // through a detached view of the same storage: an array that requires a gradient (a parameter) may not be
            // written in place while autograd records, and this thread's grad mode is PyTorch's default (on)
            try (NDArray result = array.getManager().create(scratch, array.getShape(), array.getDataType());
                    NDArray storage = array.stopGradient()) {
                storage.set(new NDIndex("..."), result);
            }
        }
        release();
    }

    /** Frees the scratch memory without writing. Idempotent. */
    public void release() {
        scratch = null;
        target = null;
        source = null;
    }
}
