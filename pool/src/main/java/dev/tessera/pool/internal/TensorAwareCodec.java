package dev.tessera.pool.internal;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.tessera.pool.internal.protocol.TensorTransfer;
import dev.tessera.sharedmem.SharedTensor;
import dev.tessera.sharedmem.TensorCodec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.NotSerializableException;
import java.io.ObjectOutputStream;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Payload codec that sends arrays of simple values in {@link FastValues}' compact form, other plain
 * graphs with {@link JavaSerialCodec}, and switches to sharedmem's
 * {@link TensorCodec} only for graphs that hold tensors ({@code NDArray}, {@code SharedTensor},
 * {@code INDArray}). The first byte of every message says which: 0 plain, 1 tensors, 2 and 3 fast. Tensors travel
 * by size ({@code AUTO}: inline up to the pool's {@code maxNbytes}, larger ones as shared-memory stubs) unless the
 * pool forces stubs ({@code SHARE}) or copies of their bytes ({@code COPY}); see {@link TensorTransfer}.
 *
 * <p>Why the split: decoding tensors needs an {@link NDManager}, and creating one loads the PyTorch
 * engine (seconds), which tiny tasks without tensors must not pay. The manager is created on the first
 * tensor message. NDArrays decoded by {@link #decode(byte[])} attach to that root manager; a worker
 * decodes each task's arguments into a per-task sub-manager instead ({@link #decode(byte[], NDManager)})
 * and closes it when the task's result is encoded, and the parent decodes a result into the manager of
 * the first NDArray among the task's arguments ({@link #encodeTracking}). Thread-safe: the lazily created
 * manager is guarded.
 */
final class TensorAwareCodec implements PayloadCodec {
    private static final byte PLAIN = 0;
    private static final byte TENSORS = 1;

    private static final int MAX_CACHED_CODECS = 64;

    private final AllowList allowList;
    private final TensorTransfer transfer;
    private final JavaSerialCodec plain;
    private final TensorCodec tensors;
    /** Tensor codecs for tasks with allowances of their own, by allowance string. */
    private final ConcurrentHashMap<String, TensorCodec> tensorsFor = new ConcurrentHashMap<>();
    private NDManager root;
    private boolean closed;

    public TensorAwareCodec(AllowList allowList, TensorTransfer transfer) {
        this.allowList = allowList;
        this.transfer = transfer;
        this.plain = new JavaSerialCodec(allowList);
        this.tensors = tensorCodec("");
    }

    /** The allow-list both sides decode with. */
    public AllowList allowList() {
        return allowList;
    }

    private TensorCodec tensorCodec(String allowances) {
        return transfer.configure(TensorCodec.builder())
                .allowPatterns(allowList.patterns(allowances).toArray(String[]::new))
                // a pool message is one byte[] whose declared lengths the codec checks exactly, so tensors are
                // bounded by the message itself, not by the default cap for channel reads
                .optMaxTensorBytes(Long.MAX_VALUE).build();
    }

    private TensorCodec tensors(String allowances) {
        if (allowances.isEmpty()) {
            return tensors;
        }
        if (tensorsFor.size() >= MAX_CACHED_CODECS) {
            tensorsFor.clear();
        }
        return tensorsFor.computeIfAbsent(allowances, this::tensorCodec);
    }

    @Override
    public byte[] encode(Object graph) throws IOException {
        return encodeTracking(graph).bytes();
    }

    /**
     * Encodes {@code graph} and reports the manager of the first {@link NDArray} in it (in serialization
     * order), or null when it holds none. The parent decodes a task's result into that manager, as DJL
     * attaches the result of an operation to its input's manager.
     */
    public Encoded encodeTracking(Object graph) throws IOException {
        byte[] fast = FastValues.encode(graph);
        if (fast != null) {
            return new Encoded(fast, null);
        }
        TensorDetector detector = new TensorDetector();
        try {
            detector.writeObject(graph);
            detector.flush();
            if (!detector.sawTensor) {
                return new Encoded(detector.message(), null);
            }
        } catch (TensorFound found) {
            // an NDArray: its manager is known, no need to read further
        }
        try {
            return new Encoded(frame(TENSORS, tensors.encode(graph)), detector.firstManager);
        } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /**
     * An encoded message.
     *
     * @param bytes the message
     * @param manager the manager of the first NDArray in the encoded graph, or null
     */
    public record Encoded(byte[] bytes, NDManager manager) {}

    @Override
    public Object decode(byte[] bytes) throws IOException {
        return decode(bytes, 0, bytes.length, null, "");
    }

    /** Decodes a whole message; see {@link #decode(byte[], int, int, NDManager, String)}. */
    public Object decode(byte[] bytes, NDManager manager, String allowances) throws IOException {
        return decode(bytes, 0, bytes.length, manager, allowances);
    }

    /**
     * Decodes the message in {@code length} bytes of {@code bytes} from {@code offset} (a part of a received
     * frame, not copied), of a task with the given allowances ({@link AllowList#allowancesFor}); NDArrays attach
     * to {@code manager}, or to this codec's root manager when it is null.
     */
    public Object decode(byte[] bytes, int offset, int length, NDManager manager, String allowances)
            throws IOException {
        if (length <= 0) {
            throw new IOException("empty message");
        }
        if (FastValues.isFast(bytes, offset, length)) {
            try {
                return FastValues.decode(bytes, offset, length);
            } catch (RuntimeException e) {
                throw new IOException("corrupt message: " + e.getMessage(), e);
            }
        }
        if (bytes[offset] == PLAIN) {
            return plain.decode(bytes, offset + 1, length - 1, allowances);
        }
        try {
            // past the kind byte, without copying what may be a large tensor message; every declared length is
            // checked against the array's bytes
            return tensors(allowances).decode(bytes, offset + 1, length - 1, manager != null ? manager : root());
        } catch (IllegalArgumentException e) {
            // sharedmem names its own builder option; in a pool the option is the pool builder's
            throw new IOException(e.getMessage().replaceFirst(
                    "allowPatterns\\(\"([^\"]*)\"\\) on the codec's builder or optAllowPatterns\\(\"[^\"]*\"\\) on the store's",
                    "optAllowPatterns(\"$1\") on the pool builder"), e);
        }
    }

    /** The root manager, created on first use. */
    public synchronized NDManager root() {
        if (closed) {
            throw new IllegalStateException("codec closed");
        }
        if (root == null) {
            root = NDManager.newBaseManager();
        }
        return root;
    }

    /** Whether the message carries tensors. */
    public static boolean carriesTensors(byte[] message) {
        return carriesTensors(message, 0, message.length);
    }

    /** Whether the message in {@code length} bytes of {@code bytes} from {@code offset} carries tensors. */
    public static boolean carriesTensors(byte[] bytes, int offset, int length) {
        return length > 0 && bytes[offset] == TENSORS;
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (root != null) {
            root.close();
            root = null;
        }
    }

    private static byte[] frame(byte kind, byte[] body) {
        byte[] out = new byte[body.length + 1];
        out[0] = kind;
        System.arraycopy(body, 0, out, 1, body.length);
        return out;
    }

    /** Thrown (and caught) as soon as the plain encoder meets a tensor. */
    private static final class TensorFound extends NotSerializableException {
        private static final long serialVersionUID = 1L;

        TensorFound() {
            super("graph holds tensors");
        }
    }

    /**
     * Java serialization into a buffer that starts with the PLAIN byte. It aborts at the first NDArray
     * (recording its manager); other tensors are only noted, and the scan goes on to look for an NDArray.
     */
    private static final class TensorDetector extends ObjectOutputStream {
        private final ByteArrayOutputStream buffer;
        private boolean sawTensor;
        private NDManager firstManager;

        TensorDetector() throws IOException {
            this(new ByteArrayOutputStream(256));
        }

        private TensorDetector(ByteArrayOutputStream buffer) throws IOException {
            super(prefixed(buffer));
            this.buffer = buffer;
            enableReplaceObject(true);
        }

        private static ByteArrayOutputStream prefixed(ByteArrayOutputStream b) {
            b.write(PLAIN);
            return b;
        }

        @Override
        protected Object replaceObject(Object obj) throws IOException {
            if (obj instanceof NDArray a) {
                sawTensor = true;
                firstManager = a.getManager();
                throw new TensorFound();
            }
            if (obj instanceof SharedTensor || obj.getClass().getName().startsWith("org.nd4j.")) {
                sawTensor = true;
                return null; // sharedmem's codec encodes the message; keep scanning for an NDArray
            }
            return obj;
        }

        byte[] message() throws IOException {
            close();
            return buffer.toByteArray();
        }
    }
}
