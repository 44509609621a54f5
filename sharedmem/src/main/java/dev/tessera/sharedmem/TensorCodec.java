package dev.tessera.sharedmem;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.tessera.sharedmem.internal.AllowPatterns;
import dev.tessera.sharedmem.internal.Nd4jPresence;
import dev.tessera.sharedmem.internal.Nd4jSupport;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InvalidClassException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serial;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * Encodes object graphs that contain tensors for another process, and decodes them. Immutable and
 * thread-safe; one codec may encode and decode concurrently.
 *
 * <p>Any {@link NDArray}, {@code INDArray} or {@link SharedTensor} anywhere in a {@link Serializable} graph
 * (fields, lists, maps, arrays) is replaced on the way out and restored on the way in:
 * <ul>
 *   <li>{@link Mode#AUTO} (the default, joblib's {@code max_nbytes}) sends a DJL or ND4J array of at most
 *       {@link Builder#optMaxNbytes maxNbytes} bytes (default {@value #DEFAULT_MAX_NBYTES}, 1 MiB) as in COPY,
 *       a larger one as in SHARE, and a {@code SharedTensor} of any size as a stub: it is in shared memory
 *       already, so a stub costs no copy at all. Many small tensors then cost no segment each, and large
 *       ones no copy through the message.
 *   <li>{@link Mode#COPY} writes the tensor bytes after the graph; the receiver gets fresh copies.
 *   <li>{@link Mode#SHARE} writes {@link TensorRef} stubs: a {@code SharedTensor} is referenced as it is, an
 *       {@code NDArray} or {@code INDArray} is first copied into a new shared segment (one memory copy).
 * </ul>
 *
 * <p>Ownership, so that nothing leaks:
 * <ul>
 *   <li>Segments that SHARE encoding creates belong to the message: once the message is written, the
 *       encoder's reference is handed off (see {@link SharedSegment}) and the first decoder takes it over. A
 *       message that is never decoded keeps its segments until the encoding process dies and the reaper
 *       runs. If encoding fails, they are released at once.
 *   <li>A {@code SharedTensor} that the caller put in the graph stays the caller's: keep it open until the
 *       receiver has decoded the message (for example until it acknowledges).
 *   <li>Decoding returns NDArrays attached to (a sub-manager of) the given {@link NDManager}: closing that
 *       manager releases them and their segments. Decoded INDArrays are ND4J-owned copies (ND4J has no
 *       scope that could release a shared view deterministically). Decoded SharedTensors belong to the
 *       caller, who must close them. If decoding fails, everything it created is released.
 * </ul>
 *
 * <p>Wire format: magic {@code TSC1}, mode, tail length, graph length, the Java-serialized graph (tensors
 * replaced by small placeholders), then the raw tensor bytes (COPY mode), which move between memory and
 * channels without passing through Java serialization. A graph that is just one tensor skips Java
 * serialization altogether: its graph is a compact placeholder (tag {@code 0x01}, where a Java stream starts
 * with {@code 0xAC}: kind, then a {@link TensorRef} stub or dtype and shape), which costs a few microseconds
 * less on both sides, the bulk of a stub handoff. Deserialization runs behind an allow-list
 * {@link ObjectInputFilter}: safe JDK value and collection classes, Tessera's placeholders and
 * {@link TensorRef}s, plus the patterns given to {@link Builder#allowPatterns}; everything else is rejected.
 *
 * <p>Decoding is bounded, so a message from a process that should not be trusted cannot exhaust memory or
 * time. Before anything is allocated, every length a message declares (graph, tensor bytes, each array and
 * collection table) is checked against the bytes that remain in it (exactly for a {@code byte[]}; a channel's
 * graph is read as it arrives) and against the {@link Builder} limits: {@code maxGraphBytes} (256 MiB),
 * {@code maxTensorBytes} (1 GiB), {@code maxArrayLength} (64 Mi elements), {@code maxReferences} (10 million),
 * {@code maxDepth} (100) and {@code maxHashWork} (2 * 10^7 element visits, which keeps nested hash sets from
 * spinning; see {@link Builder#optMaxHashWork}). Whatever a message provokes, malformed or over a limit,
 * decode throws one {@link MalformedMessageException}, naming the limit, the value and the option to raise,
 * and releases what it had created.
 */
public final class TensorCodec {
    /** How tensors travel; the ordinal is the mode byte of the wire format. */
    public enum Mode {
        /** The bytes travel inside the message. */
        COPY,
        /** Stubs travel; the bytes stay in shared memory. */
        SHARE,
        /**
         * Arrays of at most {@link Builder#optMaxNbytes maxNbytes} bytes travel as in {@link #COPY}, larger ones
         * as in {@link #SHARE}; {@code SharedTensor}s always as stubs. The default.
         */
        AUTO
    }

    static final List<String> DEFAULT_ALLOWED = List.of(
            "java.lang.String", "java.lang.Boolean", "java.lang.Byte", "java.lang.Character", "java.lang.Short",
            "java.lang.Integer", "java.lang.Long", "java.lang.Float", "java.lang.Double", "java.lang.Number",
            "java.lang.Enum", "java.lang.Object", "java.math.BigInteger", "java.math.BigDecimal",
            "java.util.ArrayList", "java.util.LinkedList", "java.util.HashMap", "java.util.LinkedHashMap",
            "java.util.TreeMap", "java.util.HashSet", "java.util.LinkedHashSet", "java.util.TreeSet",
            "java.util.ArrayDeque", "java.util.Arrays$ArrayList", "java.util.Collections$*",
            "java.util.ImmutableCollections$*", "java.util.CollSer", "java.util.Map$Entry", "java.util.UUID", "java.time.Ser",
            "ai.djl.ndarray.NDList", "dev.tessera.sharedmem.DType", "dev.tessera.sharedmem.TensorRef",
            "dev.tessera.sharedmem.TensorRef$SerialForm",
            "dev.tessera.sharedmem.TensorCodec$CopiedTensor", "dev.tessera.sharedmem.TensorCodec$SharedStub");

    /** Default of {@link Builder#optMaxNbytes}: 1 MiB, joblib's {@code max_nbytes='1M'}. */
    public static final long DEFAULT_MAX_NBYTES = 1L << 20;
    /** Default of {@link Builder#optMaxGraphBytes}: 256 MiB. */
    public static final int DEFAULT_MAX_GRAPH_BYTES = 256 << 20;
    /** Default of {@link Builder#optMaxTensorBytes}: 1 GiB. */
    public static final long DEFAULT_MAX_TENSOR_BYTES = 1L << 30;
    /** Default of {@link Builder#optMaxArrayLength}: 64 Mi elements. */
    public static final int DEFAULT_MAX_ARRAY_LENGTH = 1 << 26;
    /** Default of {@link Builder#optMaxReferences}: 10 million. */
    public static final long DEFAULT_MAX_REFERENCES = 10_000_000;
    /** Default of {@link Builder#optMaxDepth}. */
    public static final int DEFAULT_MAX_DEPTH = 100;
    /** Default of {@link Builder#optMaxHashWork}: 20 million element visits (a fraction of a second). */
    public static final long DEFAULT_MAX_HASH_WORK = 20_000_000;

    private static final int MAGIC = 0x54534331; // "TSC1"
    private static final int HEADER_BYTES = 4 + 1 + 8 + 4;
    private static final int CHUNK = 1 << 28;
    private static final int GRAPH_CHUNK = 1 << 16;
    private static final byte KIND_NDARRAY = 1;
    private static final byte KIND_INDARRAY = 2;
    private static final byte KIND_SHARED = 3;

    private final Mode mode;
    private final long maxNbytes;
    private final List<String> allowPatterns;
    private final ObjectInputFilter filter;
    private final Path directory;
    private final StagingPool staging;
    private final Limits limits;
    private final boolean copyStubs;

    private TensorCodec(Builder b) {
        this.mode = b.mode;
        this.maxNbytes = b.maxNbytes;
        this.allowPatterns = List.copyOf(b.patterns);
        this.directory = b.directory;
        this.staging = b.staging;
        this.copyStubs = b.copyStubs;
        this.limits = new Limits(b.maxGraphBytes, b.maxTensorBytes, b.maxArrayLength, b.maxReferences, b.maxDepth,
                b.maxHashWork);
        List<String> all = new ArrayList<>(DEFAULT_ALLOWED);
        all.addAll(allowPatterns);
        this.filter = ObjectInputFilter.Config.createFilter(AllowPatterns.allowOnly(all));
    }

    /** The decoding limits of one codec; see the {@link Builder} options of the same names. */
    record Limits(int maxGraphBytes, long maxTensorBytes, int maxArrayLength, long maxReferences, int maxDepth,
            long maxHashWork) {}

    /**
     * A builder for a codec; every option has a default (mode {@link Mode#AUTO} with a threshold of
     * {@value #DEFAULT_MAX_NBYTES} bytes, no extra allow patterns).
     *
     * @return a new builder, not thread-safe
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * How this codec's {@code encode} makes tensors travel.
     *
     * @return the mode set with {@link Builder#optMode}
     */
    public Mode mode() {
        return mode;
    }

    /**
     * The largest DJL or ND4J array, in bytes, that {@link Mode#AUTO} sends inline.
     *
     * @return the threshold set with {@link Builder#optMaxNbytes}; unused by the forced modes
     */
    public long maxNbytes() {
        return maxNbytes;
    }

    /**
     * The caller's patterns, on top of {@link #DEFAULT_ALLOWED}.
     *
     * @return an unmodifiable list of the patterns given to {@link Builder#optAllowPatterns}, in order
     */
    public List<String> allowPatterns() {
        return allowPatterns;
    }

    /**
     * Encodes {@code graph} into one array (at most 2 GiB; use the channel form for more).
     *
     * @param graph a tensor ({@link SharedTensor}, DJL or ND4J array) or a {@link java.io.Serializable} graph
     *     that holds tensors anywhere inside
     * @return the message; it carries a reference to any shared memory it names until it is decoded
     * @throws IllegalArgumentException if the graph cannot be serialized or the message exceeds a byte[]
     * @throws SegmentSpaceException if {@link Mode#SHARE} or staging needs a segment that does not fit
     */
    public byte[] encode(Object graph) {
        return encode(graph, ref -> { });
    }

    /**
     * Like {@link #encode(Object)}, and tells {@code handedOff} of every reference the message hands off (a segment
     * that SHARE or AUTO created for a DJL or ND4J array, or a staged copy), once the message is complete. The
     * sender may then take back those that no decoder has taken over with {@link #recallHandoff(TensorRef)}: when
     * the receiver died, or the message was never delivered.
     *
     * @param graph the graph, as for {@link #encode(Object)}
     * @param handedOff called once per handed-off reference, on this thread, before this method returns
     * @return the message
     * @throws IllegalArgumentException as {@link #encode(Object)}
     * @throws SegmentSpaceException as {@link #encode(Object)}
     */
    public byte[] encode(Object graph, java.util.function.Consumer<TensorRef> handedOff) {
        Objects.requireNonNull(handedOff, "handedOff");
        Encoding e = prepare(graph);
        try {
            long total = HEADER_BYTES + (long) e.graph.length + e.tailBytes;
            if (total > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException("encoded size " + total + " bytes exceeds a byte[]; use "
                        + "encode(graph, channel)");
            }
            byte[] out = new byte[(int) total];
            ByteBuffer head = ByteBuffer.wrap(out);
            writeHead(head, e);
            MemorySegment dst = MemorySegment.ofArray(out);
            long pos = head.position();
            for (MemorySegment src : e.copies) {
                MemorySegment.copy(src, 0, dst, pos, src.byteSize());
                pos += src.byteSize();
            }
            e.handOff();
            e.report(handedOff);
            return out;
        } finally {
            e.rollback();
        }
    }

    /**
     * Takes back the reference that a message handed off for {@code ref}'s segment, if no decoder has taken it over
     * yet: it is released, and the segment removed if that was its last reference. Does nothing when a decoder took
     * it (the decoder owns it then), or the segment is gone. Any process of this user may call it; a decoder that
     * comes later gets a {@link MalformedMessageException} naming the stub.
     *
     * @param ref a reference reported by {@link #encode(Object, java.util.function.Consumer)}
     */
    public static void recallHandoff(TensorRef ref) {
        Objects.requireNonNull(ref, "ref");
        SharedSegment.recallHandoff(ref.directory(), ref.segmentName(), ref.generation());
    }

    /**
     * Encodes {@code graph} onto {@code out}; tensor bytes go from memory to the channel without an intermediate
     * copy. The message's references are handed off before its first byte is written (a receiver may decode
     * it at once); if writing fails, those still pending are taken back.
     *
     * @param graph the graph, as for {@link #encode(Object)}
     * @param out the channel; not closed
     * @throws UncheckedIOException if writing to the channel fails
     * @throws IllegalArgumentException if the graph cannot be serialized
     */
    public void encode(Object graph, WritableByteChannel out) {
        Encoding e = prepare(graph);
        try {
            ByteBuffer head = ByteBuffer.allocate(HEADER_BYTES + e.graph.length);
            writeHead(head, e);
            e.handOff();
            writeFully(out, head.flip());
            for (MemorySegment src : e.copies) {
                for (long pos = 0; pos < src.byteSize(); pos += CHUNK) {
                    writeFully(out, src.asSlice(pos, Math.min(CHUNK, src.byteSize() - pos)).asByteBuffer());
                }
            }
        } catch (IOException ex) {
            e.recall();
            throw new UncheckedIOException("writing an encoded graph failed: " + ex.getMessage(), ex);
        } finally {
            e.rollback();
        }
    }

    private static void writeHead(ByteBuffer head, Encoding e) {
        head.putInt(MAGIC).put((byte) e.mode.ordinal()).putLong(e.tailBytes).putInt(e.graph.length).put(e.graph);
    }

    private static void writeFully(WritableByteChannel out, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            out.write(buf);
        }
    }

    private Encoding prepare(Object graph) {
        if (isTensor(graph)) {
            Encoding e = new Encoding(mode, maxNbytes, directory, staging);
            try {
                e.graph = Compact.encode(e.replace(graph));
            } catch (RuntimeException | Error ex) {
                e.rollback();
                throw ex;
            }
            return e;
        }
        Encoding e = new Encoding(mode, maxNbytes, directory, staging);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (EncodingStream oos = new EncodingStream(bytes, e)) {
            oos.writeObject(graph);
        } catch (IOException | RuntimeException ex) {
            e.rollback();
            if (ex instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalArgumentException("cannot encode the graph: " + ex, ex);
        }
        e.graph = bytes.toByteArray();
        return e;
    }

    /**
     * Decodes a message that fills {@code bytes} exactly; NDArrays come back attached to {@code manager} (which
     * may be null if there are none). Every length the message declares is checked against the bytes it has
     * before anything is allocated.
     *
     * @param bytes the message
     * @param manager the manager decoded NDArrays are attached to; may be null if the message holds none
     * @return the decoded graph; SharedTensors in it are owned by the caller
     * @throws MalformedMessageException if the message is malformed, truncated, over a decoding limit, holds a
     *     class the allow-list rejects, or names a tensor stub that cannot be opened
     * @throws SegmentSpaceException if a SharedTensor it holds does not fit the segment directory
     * @throws IllegalArgumentException if it holds NDArrays and {@code manager} is null
     */
    public Object decode(byte[] bytes, NDManager manager) {
        return decode(bytes, 0, Objects.requireNonNull(bytes, "bytes").length, manager);
    }

    /**
     * Like {@link #decode(byte[], NDManager)} for the message that fills {@code bytes[offset, offset + length)}.
     *
     * @param bytes the array holding the message
     * @param offset index of the message's first byte
     * @param length the message's size in bytes
     * @param manager the manager decoded NDArrays are attached to; may be null if the message holds none
     * @return the decoded graph; SharedTensors in it are owned by the caller
     * @throws IndexOutOfBoundsException if the range is outside {@code bytes}
     * @throws MalformedMessageException as {@link #decode(byte[], NDManager)}
     */
    public Object decode(byte[] bytes, int offset, int length, NDManager manager) {
        Objects.checkFromIndexSize(offset, length, Objects.requireNonNull(bytes, "bytes").length);
        return decode(Channels.newChannel(new ByteArrayInputStream(bytes, offset, length)), length, manager);
    }

    /**
     * Decodes one message from {@code in}, reading exactly its bytes. The graph is read as it arrives (a
     * header that declares more than is sent costs no more memory than was sent), but tensor memory is
     * reserved when the graph is decoded, before the tensor bytes arrive: {@link Builder#optMaxTensorBytes}
     * bounds it.
     *
     * @param in the channel; not closed, and left just after the message
     * @param manager the manager decoded NDArrays are attached to; may be null if the message holds none
     * @return the decoded graph; SharedTensors in it are owned by the caller
     * @throws MalformedMessageException as {@link #decode(byte[], NDManager)}, or if the channel ends early
     * @throws UncheckedIOException if reading the channel fails
     */
    public Object decode(ReadableByteChannel in, NDManager manager) {
        return decode(in, -1, manager);
    }

    /** Decodes one message of {@code available} bytes ({@code -1}: unknown) from {@code in}. */
    private Object decode(ReadableByteChannel in, long available, NDManager manager) {
        Decoding d = new Decoding(manager, directory, copyStubs);
        try {
            Object result = decodeGraph(in, available, d);
            d.fillTail(in);
            d.releaseUnreachable(result);
            d.committed = true;
            return result;
        } catch (MalformedMessageException | SegmentSpaceException | UncheckedIOException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            if (d.missingManager) {
                throw e;
            }
            throw malformed(e);
        } catch (InvalidTensorRefException e) {
            throw new MalformedMessageException("the message holds a tensor stub that cannot be opened: "
                    + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw malformed(e);
        } catch (StackOverflowError e) {
            throw new MalformedMessageException("the message nests too deeply to decode (a cycle through "
                    + "collections that are hashed, or lower optMaxDepth)", "maxDepth", e);
        } catch (OutOfMemoryError e) {
            throw new MalformedMessageException("decoding the message ran out of memory (" + e.getMessage()
                    + "); lower the codec's limits (optMaxGraphBytes, optMaxTensorBytes, optMaxReferences) or give "
                    + "the JVM more memory", e);
        } finally {
            d.rollbackUnlessCommitted();
        }
    }

    private static MalformedMessageException malformed(RuntimeException e) {
        return new MalformedMessageException("cannot decode the message: " + e, e);
    }

    private Object decodeGraph(ReadableByteChannel in, long available, Decoding d) {
        ByteBuffer head = readChannel(in, ByteBuffer.allocate(HEADER_BYTES), "its header");
        checkHead(head);
        d.tailBytes = head.getLong(5);
        int graphLength = head.getInt(13);
        checkLengths(graphLength, d.tailBytes, available);
        byte[] graph = available >= 0 ? readChannel(in, ByteBuffer.allocate(graphLength), "its graph").array()
                : readGraph(in, graphLength);
        if (Compact.isCompact(graph)) {
            return d.resolve(Compact.decode(graph));
        }
        DecodeGuard guard = new DecodeGuard(limits, graph.length);
        try (DecodingStream ois = new DecodingStream(graph, d, guard, d.recording(guard, filter))) {
            return ois.readObject();
        } catch (InvalidClassException e) {
            if (guard.violation() != null) {
                throw guard.violation();
            }
            throw MalformedMessageException.rejected("the message holds " + d.rejected + ", which the allow-list "
                    + "rejects (" + e.getMessage() + "); allow it with allowPatterns(\"" + d.rejectedPattern + "\") on "
                    + "the codec's builder or optAllowPatterns(\"" + d.rejectedPattern + "\") on the store's",
                    d.rejected, d.rejectedPattern, e);
        } catch (IOException | ClassNotFoundException e) {
            throw new MalformedMessageException("cannot decode the message's graph: " + e, e);
        }
    }

    private static void checkHead(ByteBuffer head) {
        if (head.getInt(0) != MAGIC || head.get(4) < 0 || head.get(4) >= Mode.values().length || head.getLong(5) < 0
                || head.getInt(13) < 0) {
            throw new MalformedMessageException("not a TensorCodec message (bad magic, mode, tail or graph length)",
                    null);
        }
    }

    /** Checks the declared lengths against the limits and, when the message's size is known, against it. */
    private void checkLengths(int graphLength, long tailBytes, long available) {
        if (graphLength > limits.maxGraphBytes()) {
            throw DecodeGuard.over("maxGraphBytes", limits.maxGraphBytes(), "the message declares a graph of "
                    + graphLength + " bytes");
        }
        if (tailBytes > limits.maxTensorBytes()) {
            throw DecodeGuard.over("maxTensorBytes", limits.maxTensorBytes(), "the message declares " + tailBytes
                    + " tensor bytes");
        }
        if (available >= 0 && (graphLength > available - HEADER_BYTES
                || tailBytes != available - HEADER_BYTES - graphLength)) {
            throw new MalformedMessageException("the message declares a graph of " + graphLength + " bytes and "
                    + tailBytes + " tensor bytes, but " + (available - HEADER_BYTES) + " bytes follow its "
                    + HEADER_BYTES + "-byte header", null);
        }
    }

    /** Reads a graph of unknown presence as it arrives, so that a lying header costs only what was sent. */
    private static byte[] readGraph(ReadableByteChannel in, int length) {
        byte[] graph = new byte[Math.min(length, GRAPH_CHUNK)];
        int filled = 0;
        while (filled < length) {
            if (filled == graph.length) {
                graph = java.util.Arrays.copyOf(graph, (int) Math.min(length, 2L * graph.length));
            }
            ByteBuffer window = ByteBuffer.wrap(graph, filled, graph.length - filled);
            readChannel(in, window, "its graph");
            filled = graph.length;
        }
        return graph;
    }

    /** {@link #readFully} with a truncated message as a {@link MalformedMessageException}. */
    private static ByteBuffer readChannel(ReadableByteChannel in, ByteBuffer buf, String what) {
        try {
            return readFully(in, buf);
        } catch (java.io.EOFException e) {
            throw new MalformedMessageException("the message is truncated in " + what + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("reading a message failed: " + e.getMessage(), e);
        }
    }

    static ByteBuffer readFully(ReadableByteChannel in, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            if (in.read(buf) < 0) {
                throw new java.io.EOFException("message truncated: " + buf.remaining() + " bytes missing");
            }
        }
        return buf.flip();
    }

    private static boolean isTensor(Object graph) {
        return graph instanceof NDArray || graph instanceof SharedTensor || Nd4jPresence.isINDArray(graph);
    }

    /** The graph of a message that is one tensor: its placeholder, without Java serialization. */
    static final class Compact {
        private static final byte TAG = 0x01;
        private static final byte COPIED = 1;
        private static final byte STUB = 2;

        private Compact() {}

        static boolean isCompact(byte[] graph) {
            return graph.length > 0 && graph[0] == TAG;
        }

        static byte[] encode(Object placeholder) {
            if (placeholder instanceof SharedStub s) {
                return ByteBuffer.allocate(4 + s.ref().length).put(TAG).put(STUB).put(s.kind())
                        .put((byte) (s.handoff() ? 1 : 0)).put(s.ref()).array();
            }
            CopiedTensor c = (CopiedTensor) placeholder;
            ByteBuffer out = ByteBuffer.allocate(5 + 8 * c.shape().length).put(TAG).put(COPIED).put(c.kind())
                    .put((byte) c.dtype()).put((byte) c.shape().length);
            for (long d : c.shape()) {
                out.putLong(d);
            }
            return out.array();
        }

        static Object decode(byte[] graph) {
            try {
                ByteBuffer in = ByteBuffer.wrap(graph, 1, graph.length - 1);
                byte type = in.get();
                byte kind = in.get();
                if (type == STUB) {
                    boolean handoff = in.get() != 0;
                    byte[] ref = new byte[in.remaining()];
                    in.get(ref);
                    return new SharedStub(kind, ref, handoff);
                }
                if (type != COPIED) {
                    throw new IllegalArgumentException("unknown compact tensor type " + type);
                }
                int dtype = in.get();
                long[] shape = new long[Byte.toUnsignedInt(in.get())];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = in.getLong();
                }
                if (in.hasRemaining()) {
                    throw new IllegalArgumentException(in.remaining() + " trailing bytes");
                }
                return new CopiedTensor(0, kind, dtype, shape);
            } catch (java.nio.BufferUnderflowException | IllegalArgumentException e) {
                throw new MalformedMessageException("corrupt single-tensor message: " + e.getMessage(), e);
            }
        }
    }

    /**
     * Placeholder for a tensor whose bytes follow the graph. Validated by its canonical constructor.
     *
     * @param index the tensor's position among the tensors of the message
     * @param kind what to decode it as (NDArray, INDArray or SharedTensor)
     * @param dtype the {@link DType#code()}
     * @param shape the dimensions
     */
    record CopiedTensor(int index, byte kind, int dtype, long[] shape) implements Serializable {
        CopiedTensor {
            if (index < 0 || kind < KIND_NDARRAY || kind > KIND_SHARED) {
                throw new IllegalArgumentException("bad tensor placeholder: index " + index + ", kind " + kind);
            }
            DType.fromCode(dtype).byteSizeOf(shape);
        }
    }

    /**
     * Placeholder for a tensor in shared memory; {@code handoff} means the message carries a reference.
     *
     * @param kind what to decode it as (NDArray, INDArray or SharedTensor)
     * @param ref the {@link TensorRef} compact form
     * @param handoff whether the first decoder takes over a reference the message carries
     */
    record SharedStub(byte kind, byte[] ref, boolean handoff) implements Serializable {
        SharedStub {
            if (kind < KIND_NDARRAY || kind > KIND_SHARED || ref == null) {
                throw new IllegalArgumentException("bad stub placeholder: kind " + kind);
            }
        }
    }

    /** State of one encode call: the tensor bytes to append, and the segments created for SHARE. */
    private static final class Encoding {
        final Mode mode;
        final long maxNbytes;
        final Path directory;
        final List<MemorySegment> copies = new ArrayList<>();
        final List<Object> keepAlive = new ArrayList<>();
        final List<SharedTensor> created = new ArrayList<>();
        final List<StagingPool.Staged> staged = new ArrayList<>();
        final StagingPool staging;
        final Map<Object, Object> replaced = new IdentityHashMap<>();
        byte[] graph;
        long tailBytes;
        boolean handedOff;

        Encoding(Mode mode, long maxNbytes, Path directory, StagingPool staging) {
            this.mode = mode;
            this.maxNbytes = maxNbytes;
            this.directory = directory;
            this.staging = staging;
        }

        Object replace(Object original) {
            // ND4J's writeReplace runs before replaceObject: turn its proxy back into the array it stands for
            Object obj = Nd4jPresence.isINDArrayProxy(original) ? Nd4jSupport.fromProxy(original) : original;
            byte kind = obj instanceof NDArray ? KIND_NDARRAY
                    : obj instanceof SharedTensor ? KIND_SHARED
                    : Nd4jPresence.isINDArray(obj) ? KIND_INDARRAY : 0;
            if (kind == 0) {
                return original;
            }
            return replaced.computeIfAbsent(obj, o -> inline(o, kind) ? copy(o, kind) : share(o, kind));
        }

        /** Whether the tensor's bytes go inside the message: always in COPY, never in SHARE, small arrays in AUTO. */
        private boolean inline(Object obj, byte kind) {
            return switch (mode) {
                case COPY -> true;
                case SHARE -> false;
                case AUTO -> kind != KIND_SHARED && byteSize(obj) <= maxNbytes;
            };
        }

        private static long byteSize(Object obj) {
            if (obj instanceof NDArray a) {
                return DType.fromDjl(a.getDataType()).byteSizeOf(a.getShape().getShape());
            }
            org.nd4j.linalg.api.ndarray.INDArray a = (org.nd4j.linalg.api.ndarray.INDArray) obj;
            return Nd4jSupport.dtypeOf(a).byteSizeOf(Nd4jSupport.shapeOf(a));
        }

        private Object copy(Object obj, byte kind) {
            MemorySegment bytes;
            DType dtype;
            long[] shape;
            if (obj instanceof NDArray a) {
                dtype = DType.fromDjl(a.getDataType());
                shape = a.getShape().getShape();
                ByteBuffer buf = dtype.byteSizeOf(shape) == 0 ? ByteBuffer.allocate(0) : a.toByteBuffer(true);
                keepAlive.add(buf);
                bytes = MemorySegment.ofBuffer(buf);
            } else if (obj instanceof SharedTensor t) {
                dtype = t.dtype();
                shape = t.shape();
                bytes = t.segment();
            } else {
                org.nd4j.linalg.api.ndarray.INDArray a = (org.nd4j.linalg.api.ndarray.INDArray) obj;
                Nd4jSupport.Contiguous c = Nd4jSupport.contiguous(a);
                keepAlive.add(c.array());
                dtype = Nd4jSupport.dtypeOf(a);
                shape = Nd4jSupport.shapeOf(a);
                bytes = c.memory();
            }
            long size = dtype.byteSizeOf(shape);
            // a SharedTensor decodes into shared memory anyway, so with a pool it is always staged
            if (staging != null && (kind == KIND_SHARED || size >= staging.minTensorBytes())) {
                StagingPool.Staged s = staging.stage(bytes.asSlice(0, size), dtype, shape);
                staged.add(s);
                return new SharedStub(kind, s.ref().toBytes(), true);
            }
            copies.add(bytes.asSlice(0, size));
            tailBytes += size;
            return new CopiedTensor(copies.size() - 1, kind, dtype.code(), shape);
        }

        private Object share(Object obj, byte kind) {
            if (obj instanceof SharedTensor t) {
                return new SharedStub(kind, t.ref().toBytes(), false);
            }
            SharedTensor t = obj instanceof NDArray a
                    ? SharedTensor.copyOf(a)
                    : SharedTensor.copyOf((org.nd4j.linalg.api.ndarray.INDArray) obj);
            created.add(t);
            return new SharedStub(kind, t.ref().toBytes(), true);
        }

        /** The message is about to go out: its segments' references travel with it from now on. */
        void handOff() {
            created.forEach(SharedTensor::closeHandingOff);
            staged.forEach(StagingPool.Staged::handOff);
            handedOff = true;
        }

        /** Tells {@code to} of every reference this message handed off. */
        void report(java.util.function.Consumer<TensorRef> to) {
            created.forEach(t -> to.accept(t.ref()));
            staged.forEach(s -> to.accept(s.ref()));
        }

        /** The message did not (entirely) go out: takes back the references no decoder has taken yet. */
        void recall() {
            for (SharedTensor t : created) { // ref() still answers after the hand-off closed the tensor
                TensorRef ref = t.ref();
                SharedSegment.recallHandoff(ref.directory(), ref.segmentName(), ref.generation());
            }
            staged.forEach(StagingPool.Staged::abort);
        }

        /** Releases what a failed encoding created, unless the message was handed off. */
        void rollback() {
            if (!handedOff) {
                created.forEach(SharedTensor::close);
                created.clear();
                staged.forEach(StagingPool.Staged::abort);
                staged.clear();
            }
        }
    }

    /** State of one decode call: where tensor bytes go, and what to release if decoding fails. */
    private static final class Decoding {
        final NDManager manager;
        final Path directory;
        final boolean copyStubs;
        final List<MemorySegment> destinations = new ArrayList<>();
        final List<AutoCloseable> created = new ArrayList<>();
        /** The SharedTensors decoded for the caller to own (NDArrays belong to the manager). */
        final List<SharedTensor> standalone = new ArrayList<>();
        long tailBytes;
        long declaredBytes;
        boolean committed;
        boolean missingManager;
        String rejected = "a class";
        String rejectedPattern = "com.example.**";
        Class<?> justResolved;

        Decoding(NDManager manager, Path directory, boolean copyStubs) {
            this.manager = manager;
            this.copyStubs = copyStubs;
            this.directory = directory;
        }

        /** The guard's limits, then the allow-list, recording what the allow-list rejected for the error. */
        ObjectInputFilter recording(DecodeGuard guard, ObjectInputFilter filter) {
            return info -> {
                if (info.serialClass() != null && info.serialClass() == justResolved) {
                    justResolved = null; // the JDK re-checks what resolveObject returned: our own tensor
                    return ObjectInputFilter.Status.ALLOWED;
                }
                if (guard.check(info) == ObjectInputFilter.Status.REJECTED) {
                    return ObjectInputFilter.Status.REJECTED;
                }
                ObjectInputFilter.Status status = filter.checkInput(info);
                if (status == ObjectInputFilter.Status.REJECTED) {
                    rejected = info.serialClass() != null ? "class " + info.serialClass().getName() : "a class";
                    if (info.serialClass() != null) {
                        String tree = AllowPatterns.packageTreeOf(info.serialClass());
                        rejectedPattern = tree != null ? tree : info.serialClass().getName();
                    }
                }
                return status;
            };
        }

        Object resolve(Object obj) {
            Object result = obj instanceof CopiedTensor c ? allocate(c) : obj instanceof SharedStub s ? open(s) : obj;
            justResolved = result != obj ? result.getClass() : null;
            return result;
        }

        private Object allocate(CopiedTensor c) {
            DType dtype = DType.fromCode(c.dtype());
            long bytes = dtype.byteSizeOf(c.shape());
            if (c.index() != destinations.size() || bytes > tailBytes - declaredBytes) {
                throw new MalformedMessageException("tensor placeholder " + c.index() + " of " + bytes
                        + " bytes does not match the message (" + (tailBytes - declaredBytes) + " bytes left)", null);
            }
            declaredBytes += bytes;
            return switch (c.kind()) {
                case KIND_NDARRAY -> allocateNDArray(dtype, c.shape(), bytes);
                case KIND_INDARRAY -> track(Nd4jSupport.zeros(dtype, c.shape()),
                        a -> destinations.add(Nd4jSupport.memoryOf(a)));
                default -> track(sharedTensor(dtype, c.shape()), t -> {
                    destinations.add(t.segment());
                    standalone.add(t);
                });
            };
        }

        /**
         * A new NDArray whose bytes the caller fills through the last entry of {@code destinations}. On PyTorch's CPU
         * the array is allocated by PyTorch and filled in place, so its memory goes back to the allocator when it is
         * closed and the next array of that size reuses it; a Java direct buffer (the other engines' way) stays
         * allocated until the garbage collector finds it, so every decode touched fresh pages: 5 to 10 ms for 1 to 2
         * MiB on the project machine, against 0.5 to 1.5 ms in place.
         */
        private Object allocateNDArray(DType dtype, long[] shape, long bytes) {
            dtype.checkDjlViewSupported();
            NDManager m = requireManager();
            ai.djl.ndarray.types.Shape djlShape = new ai.djl.ndarray.types.Shape(shape);
            if (bytes > 0 && fillsInPlace(m)) {
                NDArray array = m.create(djlShape, dtype.toDjl());
                created.add(array);
                destinations.add(MemorySegment.ofBuffer(array.toByteBuffer(true))); // PyTorch: a view of its data
                return array;
            }
            ByteBuffer buffer = ByteBuffer.allocateDirect(Math.toIntExact(bytes)).order(java.nio.ByteOrder.nativeOrder());
            NDArray array = m.create(buffer, djlShape, dtype.toDjl());
            created.add(array);
            destinations.add(MemorySegment.ofBuffer(buffer));
            return array;
        }

        /** Whether {@code m}'s arrays expose their own memory through {@code toByteBuffer(true)}: PyTorch on a CPU. */
        private static boolean fillsInPlace(NDManager m) {
            return "PyTorch".equals(m.getEngine().getEngineName())
                    && m.getDevice().getDeviceType().equals(ai.djl.Device.Type.CPU);
        }

        private SharedTensor sharedTensor(DType dtype, long[] shape) {
            SharedTensor.Builder b = SharedTensor.builder().setDType(dtype).setShape(shape);
            return (directory != null ? b.optDirectory(directory) : b).build();
        }

        private <T extends AutoCloseable> T track(T resource, java.util.function.Consumer<T> then) {
            created.add(resource);
            then.accept(resource);
            return resource;
        }

        private Object open(SharedStub s) {
            if (s.kind() == KIND_NDARRAY) {
                requireManager(); // before the hand-off is taken: a decode without a manager must leave it pending
            }
            TensorRef ref = TensorRef.fromBytes(s.ref());
            SharedTensor t = ref.open(ref.isReadOnly(), s.handoff());
            created.add(t);
            if (s.kind() == KIND_NDARRAY && copyStubs) {
                Object copy = allocateNDArray(t.dtype(), t.shape(), t.byteSize());
                MemorySegment.copy(t.segment(), 0, destinations.removeLast(), 0, t.byteSize());
                created.remove(t);
                t.close(); // the reference goes at once: the copy is the manager's, as in COPY mode
                return copy;
            }
            return switch (s.kind()) {
                case KIND_NDARRAY -> {
                    NDArray view = t.toNDArray(requireManager());
                    view.getManager().attachInternal(UUID.randomUUID().toString(), t); // manager owns t now
                    yield view;
                }
                case KIND_INDARRAY -> {
                    org.nd4j.linalg.api.ndarray.INDArray copy = Nd4jSupport.copyOf(t.segment(), t.dtype(), t.shape());
                    created.remove(t);
                    t.close();
                    yield track(copy, x -> { });
                }
                default -> {
                    standalone.add(t);
                    yield t;
                }
            };
        }

        private NDManager requireManager() {
            if (manager == null) {
                missingManager = true;
                throw new IllegalArgumentException("the message holds NDArrays: pass an NDManager to decode");
            }
            return manager;
        }

        void fillTail(ReadableByteChannel in) {
            if (declaredBytes != tailBytes) {
                throw new MalformedMessageException("the message declares " + tailBytes + " tensor bytes but its "
                        + "placeholders need " + declaredBytes, null);
            }
            for (MemorySegment dst : destinations) {
                for (long pos = 0; pos < dst.byteSize(); pos += CHUNK) {
                    readChannel(in, dst.asSlice(pos, Math.min(CHUNK, dst.byteSize() - pos)).asByteBuffer(),
                            "its tensor bytes");
                }
            }
        }

        /**
         * Closes the SharedTensors that {@code result} does not reach. A forged stream can make a class skip
         * objects it wrote (the JDK reads and drops them, after resolving them); nobody could close those.
         * Walks collections, maps, arrays and the fields of other classes until every SharedTensor is found; a
         * field it may not read means it cannot tell, and then it closes nothing.
         */
        void releaseUnreachable(Object result) {
            if (standalone.isEmpty() || standalone.size() == 1 && standalone.get(0) == result) {
                return;
            }
            Map<Object, Boolean> seen = new IdentityHashMap<>();
            java.util.ArrayDeque<Object> pending = new java.util.ArrayDeque<>();
            pending.push(result);
            int found = 0;
            while (!pending.isEmpty() && found < standalone.size()) {
                Object obj = pending.pop();
                if (obj == null || seen.put(obj, Boolean.TRUE) != null) {
                    continue;
                }
                if (obj instanceof SharedTensor) {
                    found++;
                } else if (!addChildren(obj, pending)) {
                    return;
                }
            }
            for (SharedTensor t : standalone) {
                if (!seen.containsKey(t)) {
                    t.close();
                }
            }
        }

        /** Pushes what {@code obj} refers to; false if some of it cannot be read. */
        private static boolean addChildren(Object obj, java.util.Deque<Object> pending) {
            if (obj instanceof Collection<?> c) {
                c.forEach(pending::push);
            } else if (obj instanceof Map<?, ?> m) {
                m.forEach((k, v) -> {
                    pending.push(k);
                    pending.push(v);
                });
            } else if (obj instanceof Map.Entry<?, ?> e) {
                pending.push(e.getKey());
                pending.push(e.getValue());
            } else if (obj instanceof Object[] array) {
                for (Object element : array) {
                    pending.push(element);
                }
            } else if (!isLeaf(obj)) {
                for (Class<?> c = obj.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
                    for (java.lang.reflect.Field f : c.getDeclaredFields()) {
                        if (java.lang.reflect.Modifier.isStatic(f.getModifiers()) || f.getType().isPrimitive()) {
                            continue;
                        }
                        if (!f.trySetAccessible()) {
                            return false;
                        }
                        try {
                            pending.push(f.get(obj));
                        } catch (IllegalAccessException e) {
                            return false;
                        }
                    }
                }
            }
            return true;
        }

        /** Values that hold no SharedTensor: JDK values, primitive arrays, enums, DJL and ND4J arrays. */
        private static boolean isLeaf(Object obj) {
            return obj instanceof CharSequence || obj instanceof Number || obj instanceof Boolean
                    || obj instanceof Character || obj instanceof UUID || obj instanceof java.time.temporal.Temporal
                    || obj.getClass().isArray() || obj instanceof Enum<?> || obj instanceof NDArray
                    || Nd4jPresence.isINDArray(obj);
        }

        void rollbackUnlessCommitted() {
            if (committed) {
                return;
            }
            for (int i = created.size() - 1; i >= 0; i--) {
                try {
                    created.get(i).close();
                } catch (Exception e) {
                    // keep releasing the rest
                }
            }
        }
    }

    private static final class EncodingStream extends ObjectOutputStream {
        private final Encoding encoding;

        EncodingStream(ByteArrayOutputStream out, Encoding encoding) throws IOException {
            super(out);
            this.encoding = encoding;
            enableReplaceObject(true);
        }

        @Override
        protected Object replaceObject(Object obj) {
            return encoding.replace(obj);
        }
    }

    private static final class DecodingStream extends ObjectInputStream {
        private final Decoding decoding;
        private final DecodeGuard guard;

        DecodingStream(byte[] graph, Decoding decoding, DecodeGuard guard, ObjectInputFilter filter)
                throws IOException {
            super(new ByteArrayInputStream(graph));
            this.decoding = decoding;
            this.guard = guard;
            setObjectInputFilter(filter);
            enableResolveObject(true);
        }

        @Override
        protected Object resolveObject(Object obj) {
            Object result = decoding.resolve(obj);
            guard.completed(result); // before the object's container can hash it
            return result;
        }
    }

    /**
     * Options for {@link TensorCodec#builder()}. Not thread-safe; the codec it builds does not own the
     * {@link StagingPool} given to it.
     */
    public static final class Builder {
        private Mode mode = Mode.AUTO;
        private long maxNbytes = DEFAULT_MAX_NBYTES;
        private boolean maxNbytesSet;
        private final List<String> patterns = new ArrayList<>();
        private Path directory;
        private StagingPool staging;
        private int maxGraphBytes = DEFAULT_MAX_GRAPH_BYTES;
        private long maxTensorBytes = DEFAULT_MAX_TENSOR_BYTES;
        private int maxArrayLength = DEFAULT_MAX_ARRAY_LENGTH;
        private long maxReferences = DEFAULT_MAX_REFERENCES;
        private int maxDepth = DEFAULT_MAX_DEPTH;
        private long maxHashWork = DEFAULT_MAX_HASH_WORK;
        private boolean copyStubs;

        private Builder() {}

        /**
         * How tensors travel; default {@link Mode#AUTO}. {@link Mode#COPY} and {@link Mode#SHARE} force one way
         * for every tensor, whatever its size.
         *
         * @param mode the mode
         * @return this builder
         */
        public Builder optMode(Mode mode) {
            this.mode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /**
         * Same as {@link #optMode}.
         *
         * @param mode the mode
         * @return this builder
         */
        public Builder mode(Mode mode) {
            return optMode(mode);
        }

        /**
         * The threshold of {@link Mode#AUTO} (joblib's {@code max_nbytes}): a DJL or ND4J array of at most
         * {@code bytes} bytes travels inside the message, a larger one by stub; default
         * {@value #DEFAULT_MAX_NBYTES} (1 MiB). {@code 0} sends every non-empty array by stub;
         * {@link Long#MAX_VALUE} sends every array inline (SharedTensors still go by stub, unlike
         * {@link Mode#COPY}). Only AUTO has a threshold: {@link #build()} rejects it with a forced mode.
         *
         * @param bytes the largest array sent inline, in bytes
         * @return this builder
         * @throws IllegalArgumentException if {@code bytes} is negative
         */
        public Builder optMaxNbytes(long bytes) {
            this.maxNbytes = checkMaxNbytes(bytes);
            this.maxNbytesSet = true;
            return this;
        }

        /**
         * Class-name patterns to accept on decode, on top of the safe defaults, in
         * {@link ObjectInputFilter.Config#createFilter} syntax: {@code com.example.Task},
         * {@code com.example.*} (one package) or {@code com.example.**} (and its subpackages). Default: none.
         *
         * @param patterns the patterns; added to those of earlier calls
         * @return this builder
         * @throws IllegalArgumentException if a pattern is malformed
         */
        public Builder optAllowPatterns(String... patterns) {
            this.patterns.addAll(AllowPatterns.check(patterns));
            return this;
        }

        /**
         * Same as {@link #optAllowPatterns}.
         *
         * @param patterns the patterns
         * @return this builder
         */
        public Builder allowPatterns(String... patterns) {
            return optAllowPatterns(patterns);
        }

        /**
         * Copies SharedTensors, and NDArrays and INDArrays of at least {@code pool.minTensorBytes()}, into
         * {@code pool}'s shared memory in
         * {@link Mode#COPY}, instead of into the message: one memcpy into pages already in place, and a stub
         * that the first decoder takes over (it owns an independent copy). Such messages are decoded once,
         * on this machine; without a pool (the default) COPY messages are self-contained bytes. The caller
         * keeps owning the pool.
         *
         * @param pool the pool, not null
         * @return this builder
         */
        public Builder optStaging(StagingPool pool) {
            this.staging = Objects.requireNonNull(pool, "pool");
            return this;
        }

        /**
         * Where decoding puts SharedTensors copied in COPY mode; default {@link SharedSegment#defaultDirectory()}.
         * Stubs naming it may then be opened by this process (see {@link TensorRef}).
         *
         * @param directory the directory
         * @return this builder
         */
        public Builder optDirectory(Path directory) {
            this.directory = dev.tessera.sharedmem.internal.SegmentFiles.useDirectory(
                    Objects.requireNonNull(directory, "directory"));
            return this;
        }

        /**
         * The largest graph (the message without its tensor bytes) decode accepts; default
         * {@value #DEFAULT_MAX_GRAPH_BYTES} (256 MiB). A channel's graph is read as it arrives, so a header
         * that declares more than is sent costs only what was sent.
         *
         * @param bytes the limit in bytes
         * @return this builder
         * @throws IllegalArgumentException if the value is not positive
         */
        public Builder optMaxGraphBytes(int bytes) {
            this.maxGraphBytes = (int) positive("maxGraphBytes", bytes);
            return this;
        }

        /**
         * The most tensor bytes one COPY message may carry after its graph; default
         * {@value #DEFAULT_MAX_TENSOR_BYTES} (1 GiB). Decoding from a channel reserves that memory before the
         * bytes arrive, so this bounds what a lying sender can make it reserve; a {@code byte[]} message must
         * also hold them.
         *
         * @param bytes the limit in bytes
         * @return this builder
         * @throws IllegalArgumentException if the value is not positive
         */
        public Builder optMaxTensorBytes(long bytes) {
            this.maxTensorBytes = positive("maxTensorBytes", bytes);
            return this;
        }

        /**
         * The longest array (also the table of a collection) the graph may declare, in elements; default
         * {@value #DEFAULT_MAX_ARRAY_LENGTH}. Independently of it, an array must fit the bytes left in the graph.
         *
         * @param length the limit in elements
         * @return this builder
         * @throws IllegalArgumentException if the value is not positive
         */
        public Builder optMaxArrayLength(int length) {
            this.maxArrayLength = (int) positive("maxArrayLength", length);
            return this;
        }

        /**
         * The most objects and back-references the graph may hold; default {@value #DEFAULT_MAX_REFERENCES}.
         *
         * @param references the limit
         * @return this builder
         * @throws IllegalArgumentException if the value is not positive
         */
        public Builder optMaxReferences(long references) {
            this.maxReferences = positive("maxReferences", references);
            return this;
        }

        /**
         * The deepest object nesting decode accepts; default {@value #DEFAULT_MAX_DEPTH}.
         *
         * @param depth the limit in nesting levels
         * @return this builder
         * @throws IllegalArgumentException if the value is not positive
         */
        public Builder optMaxDepth(int depth) {
            this.maxDepth = (int) positive("maxDepth", depth);
            return this;
        }

        /**
         * How many element visits hashing the graph's collections may cost while it is decoded; default
         * {@value #DEFAULT_MAX_HASH_WORK} (well under a second). A {@code HashSet} or {@code HashMap} hashes its
         * elements as they are read, and a collection's hash visits everything reachable from it, shared parts
         * once per path: without a bound, 40 nested sets in 2 KB hash for ever. Every collection, map and map
         * entry counts the elements a hash of it would visit, before its container can hash it; a
         * back-reference directly inside a {@code HashSet} or {@code HashMap} counts as the largest collection
         * seen so far. A tree-shaped graph of n elements nested d deep costs about n times d.
         *
         * @param visits the limit in element visits
         * @return this builder
         * @throws IllegalArgumentException if the value is not positive
         */
        public Builder optMaxHashWork(long visits) {
            this.maxHashWork = positive("maxHashWork", visits);
            return this;
        }

        /**
         * Whether decoding copies a DJL array that arrived by stub out of shared memory into a new array of the
         * manager, and gives the segment's reference back at once; default false: the array is a zero-copy view
         * that holds the segment until the manager closes. A copy lives like an array of a COPY message (closing
         * the array frees it), which suits a receiver that keeps results for an unknown time; the sender still
         * saves the bytes on the wire. INDArrays are always copied, SharedTensors never.
         *
         * @param copy true to copy
         * @return this builder
         */
        public Builder optCopyStubsOnDecode(boolean copy) {
            this.copyStubs = copy;
            return this;
        }

        /**
         * Checks a {@code maxNbytes} value; the pool and queue builders use the same rule.
         *
         * @param bytes the value
         * @return {@code bytes}
         * @throws IllegalArgumentException if {@code bytes} is negative
         */
        public static long checkMaxNbytes(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("maxNbytes=" + bytes + " (expected >= 0; 0 sends every "
                        + "non-empty tensor by stub)");
            }
            return bytes;
        }

        private static long positive(String name, long value) {
            if (value <= 0) {
                throw new IllegalArgumentException(name + "=" + value + " (expected > 0)");
            }
            return value;
        }

        /**
         * Creates the codec.
         *
         * @return a new immutable, thread-safe codec
         * @throws IllegalArgumentException if {@link #optMaxNbytes} was set with a mode other than
         *     {@link Mode#AUTO}, which has no threshold
         */
        public TensorCodec build() {
            if (maxNbytesSet && mode != Mode.AUTO) {
                throw new IllegalArgumentException("maxNbytes=" + maxNbytes + " applies only to Mode.AUTO, but "
                        + "mode=" + mode + " sends every tensor one way; drop optMaxNbytes or use Mode.AUTO");
            }
            return new TensorCodec(this);
        }
    }

    @Override
    public String toString() {
        return "TensorCodec[" + mode + (mode == Mode.AUTO ? " maxNbytes=" + maxNbytes : "") + ", allow "
                + allowPatterns + "]";
    }
}
