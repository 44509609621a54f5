package dev.tessera.distributed.internal.collective;

import dev.tessera.distributed.ReduceOp;
import dev.tessera.sharedmem.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * What one rank is about to do in a collective, exchanged before any data so that every rank sees every rank's
 * header and reaches the same verdict. Immutable. Binary form, {@value #BYTES} bytes, native order:
 *
 * <pre>
 *   0  int  op        operation code ({@link Op#ordinal()})
 *   4  int  root      group index of the root, or -1
 *   8  int  reduce    {@link ReduceOp#ordinal()}, or -1
 *  12  int  dtype     {@link DType#code()}, or 0 when the rank has no tensor here
 *  16  int  valid     1 if this rank's own arguments were valid, 0 if it rejected them (it says why itself)
 *  20  int  ndim      number of dimensions (the first 11 are kept)
 *  24  long bytes     bytes of the tensor that every rank must match
 *  32  long[11] shape
 * 120  int  device    {@link #HOST} (CPU memory: an NDArray on the CPU or a shared tensor) or {@link #CUDA}
 * 124  int  deviceIndex  the CUDA device's index on its host, or -1 (it may differ between ranks)
 * 128  int  tensors   how many of the caller's tensors this rank's part stands for: 1, or the length of the list
 *                     of a multi-GPU collective (reduced or stacked locally first), which every rank must match
 * 132  ...  unused up to the third cache line's end (never written)
 * </pre>
 */
public record OpHeader(Op op, int root, int reduce, int dtype, boolean valid, long bytes, long[] shape, int device,
        int deviceIndex, int tensors) {
    /** Size of the binary form: three cache lines, so that every rank's header starts on a line of its own. */
    public static final int BYTES = 192;
    /** {@link #device()}: the tensor is in host memory (or there is none, as in a barrier). */
    public static final int HOST = 0;
    /** {@link #device()}: the tensor is in a CUDA device's memory. */
    public static final int CUDA = 1;
    private static final int MAX_DIMS = 11;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    /** A header for one tensor per rank, as every single-tensor operation sends. */
    public OpHeader(Op op, int root, int reduce, int dtype, boolean valid, long bytes, long[] shape, int device,
            int deviceIndex) {
        this(op, root, reduce, dtype, valid, bytes, shape, device, deviceIndex, 1);
    }

    /** The operations, in the order of their codes. */
    public enum Op {
        ALL_REDUCE, REDUCE, BROADCAST, ALL_GATHER, GATHER, SCATTER, BARRIER
    }

    /** A header for a tensor of {@code buffer}'s type and shape ({@code buffer} null: none, as in a barrier). */
    public static OpHeader of(Op op, int root, ReduceOp reduce, CollBuffer buffer, String localError) {
        boolean ok = localError == null && (buffer == null || buffer.invalid() == null);
        int dtype = buffer == null || buffer.dtype() == null ? 0 : buffer.dtype().code();
        long[] shape = buffer == null ? new long[0] : buffer.shape();
        return new OpHeader(op, root, reduce == null ? -1 : reduce.ordinal(), dtype, ok,
                buffer == null ? 0 : buffer.byteSize(), shape, buffer != null && buffer.isCuda() ? CUDA : HOST,
                buffer == null ? -1 : buffer.deviceIndex(), buffer == null ? 1 : buffer.tensors());
    }

    /** Writes the binary form at {@code offset}. */
    public void write(MemorySegment s, long offset) {
        s.set(INT, offset, op.ordinal());
        s.set(INT, offset + 4, root);
        s.set(INT, offset + 8, reduce);
        s.set(INT, offset + 12, dtype);
        s.set(INT, offset + 16, valid ? 1 : 0);
        s.set(INT, offset + 20, shape.length);
        s.set(LONG, offset + 24, bytes);
        for (int i = 0; i < Math.min(MAX_DIMS, shape.length); i++) {
            s.set(LONG, offset + 32 + 8L * i, shape[i]);
        }
        s.set(INT, offset + 120, device);
        s.set(INT, offset + 124, deviceIndex);
        s.set(INT, offset + 128, tensors);
    }

    /** Reads the binary form at {@code offset}. */
    public static OpHeader read(MemorySegment s, long offset) {
        int code = s.get(INT, offset);
        Op op = code >= 0 && code < Op.values().length ? Op.values()[code] : null;
        if (op == null) {
            throw new IllegalStateException("corrupt collective header: operation code " + code);
        }
        int ndim = s.get(INT, offset + 20);
        long[] shape = new long[Math.max(0, Math.min(MAX_DIMS, ndim))];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = s.get(LONG, offset + 32 + 8L * i);
        }
        return new OpHeader(op, s.get(INT, offset + 4), s.get(INT, offset + 8), s.get(INT, offset + 12),
                s.get(INT, offset + 16) == 1, s.get(LONG, offset + 24), shape, s.get(INT, offset + 120),
                s.get(INT, offset + 124), s.get(INT, offset + 128));
    }

    /** The binary form as a new array. */
    public byte[] toBytes() {
        byte[] b = new byte[BYTES];
        write(MemorySegment.ofArray(b), 0);
        return b;
    }

    /**
     * Checks every rank's header against every other's; the same verdict on every rank, as every rank checks the
     * same headers.
     *
     * @param headers the headers by group index
     * @param ranks the world rank of each group index, for messages
     * @param self this rank's group index
     * @param what the operation, for messages
     * @throws IllegalArgumentException if a rank rejected its arguments or two ranks differ
     */
    public static void checkAgree(OpHeader[] headers, int[] ranks, int self, String what) {
        for (int i = 0; i < headers.length; i++) {
            if (!headers[i].valid) {
                throw new IllegalArgumentException(what + ": rank " + ranks[i] + (i == self ? " (this rank)" : "")
                        + " rejected its own arguments" + (i == self ? "" : " (its exception says why)")
                        + "; every rank fails this collective");
            }
        }
        OpHeader a = headers[0];
        for (int i = 1; i < headers.length; i++) {
            OpHeader b = headers[i];
            if (a.op != b.op || a.root != b.root || a.reduce != b.reduce) {
                throw new IllegalArgumentException(what + ": the ranks called different collectives: rank " + ranks[0]
                        + " " + a.describeCall(ranks) + ", rank " + ranks[i] + " " + b.describeCall(ranks)
                        + " (every rank must issue the same collectives in the same order)");
            }
            if (a.tensors != b.tensors) {
                throw new IllegalArgumentException(what + ": the ranks passed lists of different lengths: rank "
                        + ranks[0] + " passed " + a.tensors + " tensor(s), rank " + ranks[i] + " passed " + b.tensors
                        + " (every rank passes the same number of tensors to a multi-GPU collective; a single-tensor "
                        + "call counts as one)");
            }
            if (a.dtype != b.dtype || a.bytes != b.bytes || !Arrays.equals(a.shape, b.shape)) {
                throw new IllegalArgumentException(what + ": the ranks' tensors differ: rank " + ranks[0] + " has "
                        + a.describeTensor() + ", rank " + ranks[i] + " has " + b.describeTensor()
                        + " (every rank must pass the same dtype and shape)");
            }
            if (a.device != b.device) {
                throw new IllegalArgumentException(what + ": the ranks' tensors are on different kinds of device: rank "
                        + ranks[0] + " has " + a.describeDevice() + ", rank " + ranks[i] + " has " + b.describeDevice()
                        + " (every rank passes CPU tensors, or every rank CUDA tensors; copy with toDevice)");
            }
        }
    }

    /** The tensor's device, for messages: "the CPU" or "cuda:N". */
    public String describeDevice() {
        return device == CUDA ? "cuda:" + deviceIndex : "the CPU";
    }

    private String describeCall(int[] ranks) {
        return op + (root >= 0 ? " root " + ranks[root] : "") + (reduce >= 0 ? " " + ReduceOp.values()[reduce] : "");
    }

    private String describeTensor() {
        String t = dtype == 0 ? "no tensor" : DType.fromCode(dtype).name().toLowerCase(java.util.Locale.ROOT);
        return t + " " + Arrays.toString(shape) + " (" + bytes + " bytes)";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof OpHeader h && op == h.op && root == h.root && reduce == h.reduce && dtype == h.dtype
                && valid == h.valid && bytes == h.bytes && Arrays.equals(shape, h.shape) && device == h.device
                && deviceIndex == h.deviceIndex && tensors == h.tensors;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(shape) * 31 + Long.hashCode(bytes);
    }
}
