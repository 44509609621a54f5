package dev.tessera.distributed.internal.nccl;

import dev.tessera.distributed.ReduceOp;
import dev.tessera.sharedmem.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * FFM bindings to NCCL's C API ({@code nccl.h}, NCCL 2.10 or newer for {@code ncclAvg}). Immutable and thread-safe
 * as Java objects; NCCL's own rule applies to the communicators: one thread at a time per communicator. It owns
 * nothing: a communicator belongs to whoever created it and must be destroyed or aborted by it.
 *
 * <p>The C types: {@code ncclResult_t}, {@code ncclDataType_t} and {@code ncclRedOp_t} are C enums (int);
 * {@code ncclComm_t} and {@code cudaStream_t} are pointers; {@code size_t} is a long; {@code ncclUniqueId} is a
 * struct of {@value #UNIQUE_ID_BYTES} bytes that {@code ncclCommInitRank} takes <em>by value</em> (FFM passes it as
 * the struct layout below, in memory as the x86-64 ABI requires of a struct that size).
 */
@SuppressWarnings("restricted") // native access is this class's purpose; the launcher enables it
public final class Nccl {
    /** {@code NCCL_UNIQUE_ID_BYTES}. */
    public static final int UNIQUE_ID_BYTES = 128;
    /** {@code ncclSuccess}. */
    public static final int SUCCESS = 0;
    /** {@code ncclInProgress} (a non-blocking call not finished yet). */
    public static final int IN_PROGRESS = 7;
    /** The first NCCL version with {@code ncclAvg}, as {@code ncclGetVersion} reports it (2.10.0). */
    public static final int AVG_SINCE_VERSION = 21000;

    // ncclDataType_t (nccl.h): ncclInt8 0, ncclUint8 1, ncclInt32 2, ncclUint32 3, ncclInt64 4, ncclUint64 5,
    // ncclFloat16 6, ncclFloat32 7, ncclFloat64 8, ncclBfloat16 9 (NCCL >= 2.10)
    static final int NCCL_INT8 = 0;
    static final int NCCL_UINT8 = 1;
    static final int NCCL_INT32 = 2;
    static final int NCCL_INT64 = 4;
    static final int NCCL_FLOAT16 = 6;
    static final int NCCL_FLOAT32 = 7;
    static final int NCCL_FLOAT64 = 8;
    static final int NCCL_BFLOAT16 = 9;

    private static final MemoryLayout UNIQUE_ID = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(UNIQUE_ID_BYTES, ValueLayout.JAVA_BYTE).withName("internal"))
            .withName("ncclUniqueId");
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong SIZE_T = ValueLayout.JAVA_LONG;
    private static final ValueLayout PTR = ValueLayout.ADDRESS;
    private static final LoadOnce<Nccl> LOADED = new LoadOnce<>(() -> new Nccl(NativeLibrary.NCCL.open()));

    private final MethodHandle getVersion;
    private final MethodHandle getUniqueId;
    private final MethodHandle commInitRank;
    private final MethodHandle commDestroy;
    private final MethodHandle commAbort;
    private final MethodHandle commGetAsyncError;
    private final MethodHandle getErrorString;
    private final MethodHandle allReduce;
    private final MethodHandle broadcast;
    private final MethodHandle reduce;
    private final MethodHandle allGather;
    private final MethodHandle reduceScatter;
    private final MethodHandle send;
    private final MethodHandle recv;
    private final MethodHandle groupStart;
    private final MethodHandle groupEnd;
    private final int version;

    private Nccl(SymbolLookup lib) {
        Native n = new Native(lib, "NCCL");
        getVersion = n.fn("ncclGetVersion", INT, PTR);
        getUniqueId = n.fn("ncclGetUniqueId", INT, PTR);
        commInitRank = n.fn("ncclCommInitRank", INT, PTR, INT, UNIQUE_ID, INT);
        commDestroy = n.fn("ncclCommDestroy", INT, PTR);
        commAbort = n.fn("ncclCommAbort", INT, PTR);
        commGetAsyncError = n.fn("ncclCommGetAsyncError", INT, PTR, PTR);
        getErrorString = n.fn("ncclGetErrorString", PTR, INT);
        // (sendbuff, recvbuff, count, datatype, op, comm, stream)
        allReduce = n.fn("ncclAllReduce", INT, PTR, PTR, SIZE_T, INT, INT, PTR, PTR);
        // (sendbuff, recvbuff, count, datatype, root, comm, stream)
        broadcast = n.fn("ncclBroadcast", INT, PTR, PTR, SIZE_T, INT, INT, PTR, PTR);
        // (sendbuff, recvbuff, count, datatype, op, root, comm, stream)
        reduce = n.fn("ncclReduce", INT, PTR, PTR, SIZE_T, INT, INT, INT, PTR, PTR);
        // (sendbuff, recvbuff, sendcount, datatype, comm, stream)
        allGather = n.fn("ncclAllGather", INT, PTR, PTR, SIZE_T, INT, PTR, PTR);
        // (sendbuff, recvbuff, recvcount, datatype, op, comm, stream)
        reduceScatter = n.fn("ncclReduceScatter", INT, PTR, PTR, SIZE_T, INT, INT, PTR, PTR);
        // (sendbuff, count, datatype, peer, comm, stream) and (recvbuff, count, datatype, peer, comm, stream)
        send = n.fn("ncclSend", INT, PTR, SIZE_T, INT, INT, PTR, PTR);
        recv = n.fn("ncclRecv", INT, PTR, SIZE_T, INT, INT, PTR, PTR);
        groupStart = n.fn("ncclGroupStart", INT);
        groupEnd = n.fn("ncclGroupEnd", INT);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(INT);
            check((int) n.call(getVersion, v), "ncclGetVersion");
            version = v.get(INT, 0);
        }
    }

    /** Bindings to the NCCL functions in {@code lib} (for tests: a stand-in library). */
    static Nccl bind(SymbolLookup lib) {
        return new Nccl(lib);
    }

    /**
     * NCCL, loaded on first use ({@link NativeLibrary#NCCL}); a failure is remembered and thrown again.
     *
     * @return the bindings
     * @throws IllegalStateException if the library is missing or lacks a function
     */
    public static Nccl get() {
        return LOADED.get();
    }

    /**
     * The NCCL data type of a tensor's elements for a reduction, or -1 if NCCL cannot reduce it.
     *
     * @param t the element type
     * @return an {@code ncclDataType_t}
     */
    public static int reduceType(DType t) {
        return switch (t) {
            case INT8 -> NCCL_INT8;
            case UINT8 -> NCCL_UINT8;
            case INT32 -> NCCL_INT32;
            case INT64 -> NCCL_INT64;
            case FLOAT16 -> NCCL_FLOAT16;
            case FLOAT32 -> NCCL_FLOAT32;
            case FLOAT64 -> NCCL_FLOAT64;
            case BFLOAT16 -> NCCL_BFLOAT16;
            case INT16, BOOL -> -1; // NCCL has no 16-bit integer; a sum of booleans is not a boolean
        };
    }

    /**
     * The {@code ncclRedOp_t} of a reduction.
     *
     * @param op the reduction
     * @return ncclSum 0, ncclProd 1, ncclMax 2, ncclMin 3, ncclAvg 4
     */
    public static int redOp(ReduceOp op) {
        return switch (op) {
            case SUM -> 0;
            case PRODUCT -> 1;
            case MAX -> 2;
            case MIN -> 3;
            case AVG -> 4;
        };
    }

    /** Data that is only moved, never reduced, travels as bytes ({@code ncclUint8}). */
    public static int bytesType() {
        return NCCL_UINT8;
    }

    /** NCCL's version code, e.g. 22703 for 2.27.3. */
    public int version() {
        return version;
    }

    /** A new {@code ncclUniqueId}, as its bytes (rank 0 makes it; every rank passes it to {@link #commInitRank}). */
    public byte[] uniqueId() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment id = a.allocate(UNIQUE_ID);
            check(call(getUniqueId, id), "ncclGetUniqueId");
            return id.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /**
     * {@code ncclCommInitRank}: blocks until every rank of the communicator called it with the same id.
     *
     * @return the communicator
     */
    public MemorySegment commInitRank(int nranks, byte[] uniqueId, int rank) {
        if (uniqueId.length != UNIQUE_ID_BYTES) {
            throw new IllegalArgumentException("uniqueId has " + uniqueId.length + " bytes (expected "
                    + UNIQUE_ID_BYTES + ")");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            MemorySegment id = a.allocate(UNIQUE_ID);
            MemorySegment.copy(uniqueId, 0, id, ValueLayout.JAVA_BYTE, 0, UNIQUE_ID_BYTES);
            check(call(commInitRank, out, nranks, id, rank), "ncclCommInitRank(nranks=" + nranks + ", rank="
                    + rank + ")");
            return out.get(ValueLayout.ADDRESS, 0);
        }
    }

    /** {@code ncclCommDestroy}: waits for the communicator's work, then frees it. */
    public int commDestroy(MemorySegment comm) {
        return call(commDestroy, comm);
    }

    /** {@code ncclCommAbort}: stops the communicator's work in flight and frees it; safe while work hangs. */
    public int commAbort(MemorySegment comm) {
        return call(commAbort, comm);
    }

    /** {@code ncclCommGetAsyncError}: an error the communicator's work met in the background, or SUCCESS. */
    public int asyncError(MemorySegment comm) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            check(call(commGetAsyncError, comm, out), "ncclCommGetAsyncError");
            return out.get(INT, 0);
        }
    }

    /** {@code ncclAllReduce}, enqueued on {@code stream}. */
    public void allReduce(MemorySegment sendbuff, MemorySegment recvbuff, long count, int type, int op,
            MemorySegment comm, MemorySegment stream) {
        check(call(allReduce, sendbuff, recvbuff, count, type, op, comm, stream), "ncclAllReduce");
    }

    /** {@code ncclBroadcast}, enqueued on {@code stream}. */
    public void broadcast(MemorySegment sendbuff, MemorySegment recvbuff, long count, int type, int root,
            MemorySegment comm, MemorySegment stream) {
        check(call(broadcast, sendbuff, recvbuff, count, type, root, comm, stream), "ncclBroadcast");
    }

    /** {@code ncclReduce}, enqueued on {@code stream}; only the root's {@code recvbuff} is written. */
    public void reduce(MemorySegment sendbuff, MemorySegment recvbuff, long count, int type, int op, int root,
            MemorySegment comm, MemorySegment stream) {
        check(call(reduce, sendbuff, recvbuff, count, type, op, root, comm, stream), "ncclReduce");
    }

    /** {@code ncclAllGather}: rank i's {@code sendcount} elements land at {@code i * sendcount} of every recvbuff. */
    public void allGather(MemorySegment sendbuff, MemorySegment recvbuff, long sendcount, int type,
            MemorySegment comm, MemorySegment stream) {
        check(call(allGather, sendbuff, recvbuff, sendcount, type, comm, stream), "ncclAllGather");
    }

    /** {@code ncclReduceScatter}: rank i receives the reduction of part i ({@code recvcount} elements). */
    public void reduceScatter(MemorySegment sendbuff, MemorySegment recvbuff, long recvcount, int type, int op,
            MemorySegment comm, MemorySegment stream) {
        check(call(reduceScatter, sendbuff, recvbuff, recvcount, type, op, comm, stream), "ncclReduceScatter");
    }

    /** {@code ncclSend} to communicator rank {@code peer}. */
    public void send(MemorySegment sendbuff, long count, int type, int peer, MemorySegment comm,
            MemorySegment stream) {
        check(call(send, sendbuff, count, type, peer, comm, stream), "ncclSend(peer=" + peer + ")");
    }

    /** {@code ncclRecv} from communicator rank {@code peer}. */
    public void recv(MemorySegment recvbuff, long count, int type, int peer, MemorySegment comm,
            MemorySegment stream) {
        check(call(recv, recvbuff, count, type, peer, comm, stream), "ncclRecv(peer=" + peer + ")");
    }

    /** {@code ncclGroupStart}: the calls up to {@link #groupEnd()} are issued as one. */
    public void groupStart() {
        check(call(groupStart), "ncclGroupStart");
    }

    /** {@code ncclGroupEnd}. */
    public void groupEnd() {
        check(call(groupEnd), "ncclGroupEnd");
    }

    /** {@code ncclGetErrorString}. */
    public String errorString(int result) {
        MemorySegment s = (MemorySegment) Native.invoke(getErrorString, result);
        return s.equals(MemorySegment.NULL) ? "?" : s.reinterpret(4096).getString(0);
    }

    /**
     * Throws unless {@code result} is {@code ncclSuccess}.
     *
     * @throws IllegalStateException naming the call, the code and NCCL's text
     */
    public void check(int result, String call) {
        if (result != SUCCESS) {
            throw new IllegalStateException(call + " failed: NCCL error " + result + " (" + errorString(result)
                    + "); set NCCL_DEBUG=WARN for NCCL's own account");
        }
    }

    private static int call(MethodHandle h, Object... args) {
        return (int) Native.invoke(h, args);
    }

    /** The linker, one library, and the checked invocation of its functions. */
    static final class Native {
        private final SymbolLookup lib;
        private final String what;

        Native(SymbolLookup lib, String what) {
            this.lib = lib;
            this.what = what;
        }

        MethodHandle fn(String name, MemoryLayout ret, MemoryLayout... args) {
            MemorySegment at = lib.find(name).orElseThrow(() -> new IllegalStateException(what + " has no function "
                    + name + " (too old a version? NCCL 2.10 or newer and a CUDA 11 or newer runtime are needed)"));
            return Linker.nativeLinker().downcallHandle(at, ret == null ? FunctionDescriptor.ofVoid(args)
                    : FunctionDescriptor.of(ret, args));
        }

        Object call(MethodHandle h, Object... args) {
            return invoke(h, args);
        }

        static Object invoke(MethodHandle h, Object... args) {
            try {
                return h.invokeWithArguments(args);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }
    }
}
