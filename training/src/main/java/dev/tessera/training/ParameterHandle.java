package dev.tessera.training;

import ai.djl.nn.Block;
import dev.tessera.sharedmem.InvalidTensorRefException;
import dev.tessera.sharedmem.TensorRef;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The serialisable description of a Block's shared parameters, to send to worker JVMs: immutable and
 * thread-safe; it owns no memory. Holding or dropping it never maps or unmaps anything; only
 * {@link #attach(Block)} does, and the {@link SharedParameters} it returns owns that mapping.
 *
 * <p>Send it as a Java-serialised object (for example as a process-pool task argument) or as
 * {@link #toBytes()}. The byte form is {@code "TSPH"}, a version byte (1), the parameter count as an int, then
 * per parameter its name ({@link DataOutputStream#writeUTF}) and its stub ({@link TensorRef#toBytes()}, prefixed
 * by its length as an int).
 *
 * @param parameters the parameters in the Block's order; names are unique
 */
public record ParameterHandle(List<SharedParameter> parameters) implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final int MAGIC = 0x54535048; // "TSPH"
    private static final byte VERSION = 1;
    /** A stub is well under 1 KiB; the bound keeps a corrupt length from allocating gigabytes. */
    private static final int MAX_REF_BYTES = 64 * 1024;

    /**
     * Checks that there is at least one parameter and that names are unique.
     *
     * @param parameters the parameters; copied
     * @throws IllegalArgumentException if the list is empty or a name repeats
     */
    public ParameterHandle {
        parameters = List.copyOf(Objects.requireNonNull(parameters, "parameters"));
        if (parameters.isEmpty()) {
            throw new IllegalArgumentException("parameters=[] (expected at least one shared parameter)");
        }
        Set<String> names = new HashSet<>();
        for (SharedParameter p : parameters) {
            if (!names.add(p.name())) {
                throw new IllegalArgumentException("parameter '" + p.name() + "' appears twice (expected unique names)");
            }
        }
    }

    /**
     * Makes {@code block}, a Block of the same architecture, train on these parameters zero-copy, in this JVM.
     * Its current parameter values are dropped. Either every parameter is attached or, on an error, none is.
     *
     * @param block an initialised Block on the CPU whose parameters have the same names, shapes and dtypes
     * @return the attachment, owned by the caller: closing it gives the Block private copies of the values
     * @throws IllegalArgumentException if the Block is not initialised, lacks a parameter or has an extra one, or
     *     a parameter's shape or dtype differs; the message names the parameter and both values
     * @throws IllegalStateException if a parameter of the Block is already on shared memory in this JVM
     * @throws InvalidTensorRefException if a segment is gone (every process holding it closed it)
     */
    public SharedParameters attach(Block block) {
        return SharedParameters.attach(this, block);
    }

    /**
     * The byte form described in the class comment.
     *
     * @return a new array
     */
    public byte[] toBytes() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(MAGIC);
            out.writeByte(VERSION);
            out.writeInt(parameters.size());
            for (SharedParameter p : parameters) {
                out.writeUTF(p.name());
                byte[] ref = p.ref().toBytes();
                out.writeInt(ref.length);
                out.write(ref);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
        }
        return bytes.toByteArray();
    }

    /**
     * Parses {@link #toBytes()}.
     *
     * @param bytes the byte form
     * @return the handle
     * @throws IllegalArgumentException if the bytes are not a handle of this version, are truncated or have
     *     trailing bytes
     * @throws InvalidTensorRefException if a stub inside is malformed
     */
    public static ParameterHandle fromBytes(byte[] bytes) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            if (in.readInt() != MAGIC || in.readByte() != VERSION) {
                throw new IllegalArgumentException("not a parameter handle of version " + VERSION
                        + " (expected the bytes of ParameterHandle.toBytes())");
            }
            int count = in.readInt();
            if (count < 1 || count > bytes.length) {
                throw new IllegalArgumentException("parameter handle: count=" + count + " (expected 1.."
                        + bytes.length + ")");
            }
            SharedParameter[] parameters = new SharedParameter[count];
            for (int i = 0; i < count; i++) {
                parameters[i] = new SharedParameter(in.readUTF(), TensorRef.fromBytes(readRef(in)));
            }
            if (in.available() > 0) {
                throw new IllegalArgumentException("parameter handle: " + in.available() + " trailing bytes");
            }
            return new ParameterHandle(List.of(parameters));
        } catch (IOException e) {
            throw new IllegalArgumentException("parameter handle of " + bytes.length + " bytes is truncated", e);
        }
    }

    private static byte[] readRef(DataInputStream in) throws IOException {
        int length = in.readInt();
        if (length < 1 || length > MAX_REF_BYTES) {
            throw new IllegalArgumentException("parameter handle: stub length=" + length + " (expected 1.."
                    + MAX_REF_BYTES + ")");
        }
        byte[] ref = new byte[length];
        in.readFully(ref);
        return ref;
    }
}
