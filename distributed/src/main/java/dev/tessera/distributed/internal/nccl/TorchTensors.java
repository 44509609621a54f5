package dev.tessera.distributed.internal.nccl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.util.NativeResource;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/**
 * Reads a DJL PyTorch NDArray's memory address, sizes, strides and device from libtorch itself. Stateless and
 * thread-safe; it owns nothing (an address stays valid only while the NDArray is open and not reallocated).
 *
 * <p>A {@code PtNDArray}'s handle is a pointer to a heap {@code torch::Tensor} (DJL 0.35.1's JNI:
 * {@code reinterpret_cast<torch::Tensor*>(jhandle)}), which is exactly what PyTorch's AOTInductor C shim
 * ({@code torch/csrc/inductor/aoti_torch/c/shim.h}) takes as an {@code AtenTensorHandle}. The shim is a C ABI that
 * PyTorch keeps stable and that turns C++ exceptions into error codes, so it is called here instead of a mangled
 * {@code at::TensorBase::data_ptr<T>()} (one symbol per dtype, and a C++ exception through an FFM frame would end
 * the process): {@code aoti_torch_get_data_ptr}, {@code _get_dim}, {@code _get_sizes}, {@code _get_strides},
 * {@code _get_device_type}, {@code _get_device_index}, each returning 0 on success.
 *
 * <p>No second libtorch is ever loaded: the symbols come from the libraries DJL loaded through {@code System.load}
 * (the class loader's lookup), or else from the exact {@code libtorch_cpu.so} this process has mapped (opening a
 * loaded path again returns the same library).
 */
@SuppressWarnings("restricted") // native access is this class's purpose; the launcher enables it
public final class TorchTensors {
    /** c10::DeviceType::CPU. */
    public static final int CPU = 0;
    /** c10::DeviceType::CUDA. */
    public static final int CUDA = 1;

    private static volatile Shim shim;

    private TorchTensors() {}

    /**
     * What libtorch says of one tensor.
     *
     * @param data the address of its first element (on its device)
     * @param sizes its sizes
     * @param strides its strides, in elements
     * @param deviceType {@link #CPU}, {@link #CUDA}, or another c10::DeviceType
     * @param deviceIndex the device's index (-1 for the CPU)
     */
    public record Info(MemorySegment data, long[] sizes, long[] strides, int deviceType, int deviceIndex) {
        /** Whether the elements lie densely in row-major order (size-1 dimensions do not count, as in PyTorch). */
        public boolean contiguous() {
            long expected = 1;
            for (int d = sizes.length - 1; d >= 0; d--) {
                if (sizes[d] == 0) {
                    return true;
                }
                if (sizes[d] != 1) {
                    if (strides[d] != expected) {
                        return false;
                    }
                    expected *= sizes[d];
                }
            }
            return true;
        }

        @Override
        public String toString() {
            return "sizes " + Arrays.toString(sizes) + ", strides " + Arrays.toString(strides) + ", device type "
                    + deviceType + ":" + deviceIndex + " at 0x" + Long.toHexString(data.address());
        }
    }

    /**
     * Reads a tensor's address, layout and device.
     *
     * @param array a PyTorch NDArray, open
     * @return what libtorch reports
     * @throws IllegalArgumentException if it is not a PyTorch NDArray, or sparse
     * @throws IllegalStateException if libtorch's C shim is not found or reports an error
     */
    public static Info describe(NDArray array) {
        MemorySegment t = MemorySegment.ofAddress(handle(array));
        Shim s = shim();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.JAVA_LONG);
            s.check(s.call(s.dataPtr, t, out), "aoti_torch_get_data_ptr");
            MemorySegment data = out.get(ValueLayout.ADDRESS, 0);
            s.check(s.call(s.dim, t, out), "aoti_torch_get_dim");
            int dim = Math.toIntExact(out.get(ValueLayout.JAVA_LONG, 0));
            s.check(s.call(s.sizes, t, out), "aoti_torch_get_sizes");
            long[] sizes = longs(out.get(ValueLayout.ADDRESS, 0), dim);
            s.check(s.call(s.strides, t, out), "aoti_torch_get_strides");
            long[] strides = longs(out.get(ValueLayout.ADDRESS, 0), dim);
            s.check(s.call(s.deviceType, t, out), "aoti_torch_get_device_type");
            int type = out.get(ValueLayout.JAVA_INT, 0);
            s.check(s.call(s.deviceIndex, t, out), "aoti_torch_get_device_index");
            int index = out.get(ValueLayout.JAVA_INT, 0);
            return new Info(data, sizes, strides, type, index);
        }
    }

    /**
     * A contiguous copy of {@code array} on its device (the caller closes it), made by PyTorch's copy into a fresh
     * dense tensor.
     *
     * @param array the array
     * @return a new array with the same values, row-major and dense
     */
    public static NDArray contiguousCopy(NDArray array) {
        NDArray copy = array.getManager().zeros(array.getShape(), array.getDataType(), array.getDevice());
        copy.set(new NDIndex("..."), array);
        return copy;
    }

    /**
     * Writes {@code from} into {@code into}'s own storage (a PyTorch copy; through a detached view, as a parameter
     * that requires a gradient may not be written in place while autograd records).
     */
    public static void copyInto(NDArray into, NDArray from) {
        try (NDArray storage = into.stopGradient()) {
            storage.set(new NDIndex("..."), from);
        }
    }

    private static long handle(NDArray array) {
        String engine = array.getManager().getEngine().getEngineName();
        if (!"PyTorch".equals(engine) || !(array instanceof NativeResource<?> r) || !(r.getHandle() instanceof Long h)) {
            throw new IllegalArgumentException("the NDArray is of DJL's " + engine + " engine (collectives on CUDA "
                    + "tensors need PyTorch NDArrays: run with the PyTorch engine)");
        }
        if (array.isSparse()) {
            throw new IllegalArgumentException("the NDArray is sparse (" + array.getSparseFormat() + "); collectives "
                    + "need dense tensors (toDense() makes one)");
        }
        return h;
    }

    private static long[] longs(MemorySegment at, int n) {
        return n == 0 ? new long[0] : at.reinterpret(8L * n).toArray(ValueLayout.JAVA_LONG);
    }

    private static Shim shim() {
        Shim s = shim;
        if (s == null) {
            synchronized (TorchTensors.class) {
                s = shim;
                if (s == null) {
                    s = new Shim(libtorch());
                    shim = s;
                }
            }
        }
        return s;
    }

    /** The libtorch DJL loaded: its class loader's lookup, else the mapped libtorch_cpu.so by its exact path. */
    private static SymbolLookup libtorch() {
        SymbolLookup loader = SymbolLookup.loaderLookup();
        if (loader.find("aoti_torch_get_data_ptr").isPresent()) {
            return loader;
        }
        Optional<Path> mapped = mappedLibrary("libtorch_cpu.so");
        if (mapped.isPresent()) {
            return SymbolLookup.libraryLookup(mapped.get(), Arena.global());
        }
        throw new IllegalStateException("libtorch is not loaded in this process (no libtorch_cpu.so in "
                + "/proc/self/maps): create a PyTorch NDArray first, so that DJL loads its engine");
    }

    /** The path of a shared library this process has mapped whose file name starts with {@code name}. */
    static Optional<Path> mappedLibrary(String name) {
        try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.map(l -> l.indexOf('/') < 0 ? null : l.substring(l.indexOf('/')))
                    .filter(p -> p != null && Path.of(p).getFileName().toString().startsWith(name))
                    .map(Path::of).findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The shim's functions. */
    private static final class Shim {
        final MethodHandle dataPtr;
        final MethodHandle dim;
        final MethodHandle sizes;
        final MethodHandle strides;
        final MethodHandle deviceType;
        final MethodHandle deviceIndex;
        private final SymbolLookup lib;

        Shim(SymbolLookup lib) {
            this.lib = lib;
            dataPtr = fn("aoti_torch_get_data_ptr");
            dim = fn("aoti_torch_get_dim");
            sizes = fn("aoti_torch_get_sizes");
            strides = fn("aoti_torch_get_strides");
            deviceType = fn("aoti_torch_get_device_type");
            deviceIndex = fn("aoti_torch_get_device_index");
        }

        /** {@code AOTITorchError f(AtenTensorHandle, T* out)}: every getter has this shape. */
        private MethodHandle fn(String name) {
            MemorySegment at = lib.find(name).orElseThrow(() -> new IllegalStateException("libtorch has no " + name
                    + " (PyTorch's AOTInductor C shim, in PyTorch 2.7.1, which DJL 0.35.1 uses, and later)"));
            return Linker.nativeLinker().downcallHandle(at, FunctionDescriptor.of(ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS));
        }

        int call(MethodHandle h, MemorySegment tensor, MemorySegment out) {
            try {
                return (int) h.invokeExact(tensor, out);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }

        void check(int rc, String call) {
            if (rc != 0) {
                throw new IllegalStateException(call + " returned " + rc + " (PyTorch logged why on stderr)");
            }
        }
    }
}
