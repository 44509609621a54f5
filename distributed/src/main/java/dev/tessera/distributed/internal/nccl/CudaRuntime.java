package dev.tessera.distributed.internal.nccl;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * FFM bindings to the few CUDA runtime functions the NCCL engine needs ({@code cuda_runtime_api.h}). Immutable and
 * thread-safe; it owns nothing. The current device is per thread in CUDA, so a caller sets it on the thread that
 * then calls NCCL.
 */
@SuppressWarnings("restricted") // native access is this class's purpose; the launcher enables it
public final class CudaRuntime {
    /** {@code cudaSuccess}. */
    public static final int SUCCESS = 0;
    /** {@code cudaErrorNotReady}: the stream still has work. */
    public static final int NOT_READY = 600;
    /**
     * The legacy default stream, {@code (cudaStream_t) 0}: the one PyTorch's current stream is unless someone sets
     * another, and DJL never does; so NCCL's kernels are ordered after the PyTorch ops that made the tensors.
     */
    public static final MemorySegment DEFAULT_STREAM = MemorySegment.NULL;
    private static final LoadOnce<CudaRuntime> LOADED =
            new LoadOnce<>(() -> new CudaRuntime(NativeLibrary.CUDART.open()));

    private final MethodHandle setDevice;
    private final MethodHandle getDeviceCount;
    private final MethodHandle streamQuery;
    private final MethodHandle streamSynchronize;
    private final MethodHandle getErrorString;

    private CudaRuntime(SymbolLookup lib) {
        Nccl.Native n = new Nccl.Native(lib, "the CUDA runtime");
        setDevice = n.fn("cudaSetDevice", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
        getDeviceCount = n.fn("cudaGetDeviceCount", ValueLayout.JAVA_INT, ValueLayout.ADDRESS);
        streamQuery = n.fn("cudaStreamQuery", ValueLayout.JAVA_INT, ValueLayout.ADDRESS);
        streamSynchronize = n.fn("cudaStreamSynchronize", ValueLayout.JAVA_INT, ValueLayout.ADDRESS);
        getErrorString = n.fn("cudaGetErrorString", ValueLayout.ADDRESS, ValueLayout.JAVA_INT);
    }

    /**
     * The runtime, loaded on first use ({@link NativeLibrary#CUDART}); a failure is remembered and thrown again.
     *
     * @return the bindings
     * @throws IllegalStateException if the library is missing
     */
    public static CudaRuntime get() {
        return LOADED.get();
    }

    /** {@code cudaSetDevice} on the calling thread. */
    public void setDevice(int device) {
        check((int) Nccl.Native.invoke(setDevice, device), "cudaSetDevice(" + device + ")");
    }

    /** {@code cudaGetDeviceCount}. */
    public int deviceCount() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(ValueLayout.JAVA_INT);
            check((int) Nccl.Native.invoke(getDeviceCount, n), "cudaGetDeviceCount");
            return n.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** {@code cudaStreamQuery}: {@link #SUCCESS} when the stream is idle, {@link #NOT_READY}, or an error. */
    public int streamQuery(MemorySegment stream) {
        return (int) Nccl.Native.invoke(streamQuery, stream);
    }

    /** {@code cudaStreamSynchronize}: blocks until the stream is idle. */
    public void streamSynchronize(MemorySegment stream) {
        check((int) Nccl.Native.invoke(streamSynchronize, stream), "cudaStreamSynchronize");
    }

    /** {@code cudaGetErrorString}. */
    public String errorString(int error) {
        MemorySegment s = (MemorySegment) Nccl.Native.invoke(getErrorString, error);
        return s.equals(MemorySegment.NULL) ? "?" : s.reinterpret(4096).getString(0);
    }

    /**
     * Throws unless {@code error} is {@code cudaSuccess}.
     *
     * @throws IllegalStateException naming the call and CUDA's text
     */
    public void check(int error, String call) {
        if (error != SUCCESS) {
            throw new IllegalStateException(call + " failed: CUDA error " + error + " (" + errorString(error) + ")");
        }
    }
}
