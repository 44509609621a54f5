package dev.tessera.sharedmem;

import java.io.ByteArrayOutputStream;
import java.io.ObjectStreamException;
import java.io.Serial;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import dev.tessera.sharedmem.internal.FileTrust;
import dev.tessera.sharedmem.internal.SegmentFiles;

/**
 * A reference stub to a tensor in shared memory: immutable and thread-safe; it owns nothing, so it can be
 * copied, sent and dropped freely. {@link #open()} maps the segment in any process on the machine and
 * returns a {@link SharedTensor} that the caller owns.
 *
 * <p>The compact form ({@link #toBytes()}) is, in order: format tag {@code 'T'}, format version, flags
 * (bit 0: read-only), dtype code, rank, the 16 bytes of the segment name, the generation (8 bytes,
 * little-endian), then as unsigned LEB128 varints the data offset, each dimension, and the length of the
 * UTF-8 directory path, followed by that path. A 4-d stub in {@code /dev/shm} takes about 50 bytes.
 *
 * <p>Java serialization goes through the same compact form and the same validation, so a forged stream
 * cannot build a stub that {@link #fromBytes} would reject. A stub is not a capability: anyone who can read
 * the segment file (mode 0600: the same user) can open it, and the read-only flag is advisory.
 *
 * <p>Where a stub may point: its directory must be a normalised absolute path (no {@code .} or {@code ..}
 * components; checked when it is built or parsed), and {@link #open()} opens it only if it is the segment
 * directory ({@link SharedSegment#defaultDirectory()}), a directory this process creates segments in or opens a
 * store in, or one listed in the system property {@code tessera.shm.allowedDirectories}
 * (path-separator-separated). The segment file must pass the ownership rule ({@link UntrustedFileException};
 * see "Ownership and permissions" in the README).
 */
public final class TensorRef implements Serializable {
    @Serial
    private static final long serialVersionUID = 1L;
    private static final byte TAG = 'T';
    private static final byte FORMAT_VERSION = 1;
    private static final int FLAG_READ_ONLY = 1;
    private static final int MAX_DIRECTORY_BYTES = 4096;

    private final transient Path directory;
    private final transient String segmentName;
    private final transient long offset;
    private final transient DType dtype;
    private final transient long[] shape;
    private final transient long generation;
    private final transient boolean readOnly;

    TensorRef(Path directory, String segmentName, long offset, DType dtype, long[] shape, long generation,
            boolean readOnly) {
        this.directory = Objects.requireNonNull(directory, "directory");
        this.segmentName = Objects.requireNonNull(segmentName, "segmentName");
        this.offset = offset;
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        this.shape = shape.clone();
        this.generation = generation;
        this.readOnly = readOnly;
        validate();
    }

    private void validate() {
        if (!SegmentFiles.isSegmentName(segmentName)) {
            throw new InvalidTensorRefException("segment name '" + segmentName + "' is not a Tessera segment name");
        }
        if (!directory.isAbsolute()) {
            throw new InvalidTensorRefException("directory '" + directory + "' (expected an absolute path)");
        }
        if (!directory.normalize().equals(directory)) {
            throw new InvalidTensorRefException("directory '" + directory + "' has . or .. components (expected a "
                    + "normalised path, " + directory.normalize() + "?); a stub may not leave its segment directory");
        }
        if (offset < 0 || offset % 64 != 0) {
            throw new InvalidTensorRefException("offset=" + offset + " (expected a non-negative multiple of 64)");
        }
        try {
            long bytes = dtype.byteSizeOf(shape);
            Math.addExact(offset, bytes);
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new InvalidTensorRefException("bad shape " + Arrays.toString(shape) + " for " + dtype + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * The directory holding the segment file.
     *
     * @return a normalised absolute path
     */
    public Path directory() {
        return directory;
    }

    /**
     * The segment's file name within {@link #directory()}.
     *
     * @return a Tessera segment name
     */
    public String segmentName() {
        return segmentName;
    }

    /**
     * Byte offset of the tensor in the segment's data region (after the header).
     *
     * @return the offset in bytes, a non-negative multiple of 64
     */

    public long offset() {
        return offset;
    }

    /**
     * The element type.
     *
     * @return the dtype, never null
     */
    public DType dtype() {
        return dtype;
    }

    /**
     * The dimensions, row-major.
     *
     * @return a fresh copy of the shape (empty for a scalar)
     */
    public long[] shape() {
        return shape.clone();
    }

    /**
     * The generation of the segment this stub was made for; {@link #open()} refuses a segment that was
     * re-created or reused with another generation.
     *
     * @return the generation read from the segment header
     */
    public long generation() {
        return generation;
    }

    /**
     * Whether {@link #open()} returns a read-only tensor. Advisory: it does not stop another opener.
     *
     * @return true if the read-only flag is set
     */
    public boolean isReadOnly() {
        return readOnly;
    }

    /**
     * Size of the tensor's data.
     *
     * @return bytes: the element count times {@link DType#byteSize()}
     */
    public long byteSize() {
        return dtype.byteSizeOf(shape);
    }

    /**
     * The same stub with the read-only flag set: {@link #open()} then returns a read-only tensor.
     *
     * @return this stub if it is already read-only, otherwise a new one
     */

    public TensorRef asReadOnly() {
        return readOnly ? this : new TensorRef(directory, segmentName, offset, dtype, shape, generation, true);
    }

    /**
     * Maps the segment and returns the tensor, zero-copy; the caller owns (and must close) the result.
     *
     * @throws InvalidTensorRefException if the segment is gone, has another generation, or is too small, or
     *     the stub names a directory this process does not use (see the class comment)
     * @throws UntrustedFileException if the segment file belongs to another user or has group/other permission
     *     bits (opt in with {@code -Dtessera.shm.trustedOwners} / {@code -Dtessera.shm.allowSharedModes})
     * @return a new tensor the caller owns and must close; read-only if {@link #isReadOnly()}
     */
    public SharedTensor open() {
        return open(readOnly, false);
    }

    /**
     * Like {@link #open()}, but the tensor is read-only whatever the flag says.
     *
     * @return a new read-only tensor the caller owns and must close
     * @throws InvalidTensorRefException as {@link #open()}
     * @throws UntrustedFileException as {@link #open()}
     */
    public SharedTensor openReadOnly() {
        return open(true, false);
    }

    SharedTensor open(boolean asReadOnly, boolean takeHandoff) {
        String refused = SegmentFiles.whyDirectoryRefused(directory);
        if (refused != null) {
            throw new InvalidTensorRefException("cannot open " + this + ": " + refused);
        }
        return open(asReadOnly, takeHandoff, FileTrust.fromSystemProperties());
    }

    /**
     * Opens the stub with {@code trust}; for a caller that built it with a directory it uses itself (a store),
     * so the directory is not checked again.
     */
    SharedTensor open(boolean asReadOnly, boolean takeHandoff, FileTrust trust) {
        SharedSegment handle;
        try {
            handle = SharedSegment.open(directory, segmentName, generation, takeHandoff, trust, SharedTensor.OWNER);
        } catch (UncheckedIOException | IllegalStateException | IllegalArgumentException e) {
            throw new InvalidTensorRefException("cannot open " + this + ": " + e.getMessage(), e);
        }
        try {
            return SharedTensor.wrap(handle, offset, dtype, shape, asReadOnly);
        } catch (IllegalArgumentException e) {
            handle.close();
            throw new InvalidTensorRefException("cannot open " + this + ": " + e.getMessage(), e);
        }
    }

    /**
     * The compact binary form; see the class comment.
     *
     * @return a new array, about 50 bytes for a 4-d stub in {@code /dev/shm}
     */
    public byte[] toBytes() {
        byte[] dir = directory.toString().getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream(48 + dir.length + 10 * shape.length);
        out.write(TAG);
        out.write(FORMAT_VERSION);
        out.write(readOnly ? FLAG_READ_ONLY : 0);
        out.write(dtype.code());
        out.write(shape.length);
        out.writeBytes(SegmentFiles.nameBits(segmentName));
        for (int i = 0; i < 8; i++) {
            out.write((int) (generation >>> (8 * i)));
        }
        writeVarLong(out, offset);
        for (long d : shape) {
            writeVarLong(out, d);
        }
        writeVarLong(out, dir.length);
        out.writeBytes(dir);
        return out.toByteArray();
    }

    /**
     * Parses and validates a compact stub.
     *
     * @throws InvalidTensorRefException if the bytes are malformed, truncated, have trailing bytes, or
     *     describe an impossible tensor
     * @param bytes the compact form, exactly
     * @return the stub; opening it is checked only by {@link #open()}
     */
    public static TensorRef fromBytes(byte[] bytes) {
        try {
            return parse(ByteBuffer.wrap(bytes));
        } catch (java.nio.BufferUnderflowException e) {
            throw new InvalidTensorRefException("truncated tensor stub (" + bytes.length + " bytes)", e);
        }
    }

    private static TensorRef parse(ByteBuffer in) {
        if (in.get() != TAG || in.get() != FORMAT_VERSION) {
            throw new InvalidTensorRefException("not a tensor stub, or an unknown format version");
        }
        int flags = in.get();
        if ((flags & ~FLAG_READ_ONLY) != 0) {
            throw new InvalidTensorRefException("unknown stub flags " + flags);
        }
        DType dtype = parseDType(in.get());
        int rank = Byte.toUnsignedInt(in.get());
        if (rank > DType.MAX_RANK) {
            throw new InvalidTensorRefException("rank=" + rank + " (expected <= " + DType.MAX_RANK + ")");
        }
        byte[] name = new byte[SegmentFiles.NAME_BITS / 8];
        in.get(name);
        long generation = in.order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        long offset = readVarLong(in);
        long[] shape = new long[rank];
        for (int i = 0; i < rank; i++) {
            shape[i] = readVarLong(in);
        }
        Path dir = parseDirectory(in);
        if (in.hasRemaining()) {
            throw new InvalidTensorRefException(in.remaining() + " trailing bytes after the tensor stub");
        }
        return new TensorRef(dir, SegmentFiles.nameOf(name), offset, dtype, shape, generation,
                (flags & FLAG_READ_ONLY) != 0);
    }

    private static DType parseDType(byte code) {
        try {
            return DType.fromCode(code);
        } catch (IllegalArgumentException e) {
            throw new InvalidTensorRefException("bad dtype in stub: " + e.getMessage(), e);
        }
    }

    private static Path parseDirectory(ByteBuffer in) {
        long length = readVarLong(in);
        if (length > MAX_DIRECTORY_BYTES || length > in.remaining()) {
            throw new InvalidTensorRefException("directory length " + length + " (expected <= "
                    + Math.min(MAX_DIRECTORY_BYTES, in.remaining()) + ")");
        }
        ByteBuffer slice = in.slice(in.position(), (int) length);
        in.position(in.position() + (int) length);
        try {
            String dir = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(slice).toString();
            return Path.of(dir);
        } catch (CharacterCodingException | java.nio.file.InvalidPathException e) {
            throw new InvalidTensorRefException("bad directory in stub: " + e.getMessage(), e);
        }
    }

    private static void writeVarLong(ByteArrayOutputStream out, long value) {
        long v = value;
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }

    private static long readVarLong(ByteBuffer in) {
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            byte b = in.get();
            value |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                if (value < 0) {
                    throw new InvalidTensorRefException("negative varint in stub");
                }
                return value;
            }
        }
        throw new InvalidTensorRefException("varint longer than 10 bytes in stub");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorRef r && offset == r.offset && generation == r.generation
                && readOnly == r.readOnly && dtype == r.dtype && segmentName.equals(r.segmentName)
                && directory.equals(r.directory) && Arrays.equals(shape, r.shape);
    }

    @Override
    public int hashCode() {
        return Objects.hash(segmentName, offset, generation, dtype, Arrays.hashCode(shape));
    }

    @Override
    public String toString() {
        return "TensorRef[" + directory.resolve(segmentName) + " @" + offset + ", " + dtype + Arrays.toString(shape)
                + ", generation " + Long.toHexString(generation) + (readOnly ? ", read-only" : "") + "]";
    }

    /**
     * Serializes a stub as its compact form.
     *
     * @return the serial form holding {@link #toBytes()}
     */
    @Serial
    private Object writeReplace() {
        return new SerialForm(toBytes());
    }

    /**
     * Refuses a stream that bypasses the serial form.
     *
     * @param in the stream, not read
     * @throws java.io.InvalidObjectException always
     */
    @Serial
    private void readObject(java.io.ObjectInputStream in) throws java.io.InvalidObjectException {
        throw new java.io.InvalidObjectException("TensorRef is serialized through its SerialForm");
    }

    /**
     * The Java serialization form: the compact bytes, validated again on the way in.
     *
     * @param bytes the compact form ({@link #toBytes()})
     */
    private record SerialForm(byte[] bytes) implements Serializable {
        @Serial
        private Object readResolve() throws ObjectStreamException {
            try {
                return fromBytes(bytes);
            } catch (InvalidTensorRefException e) {
                java.io.InvalidObjectException ioe = new java.io.InvalidObjectException(e.getMessage());
                ioe.initCause(e);
                throw ioe;
            }
        }
    }
}
