package dev.tessera.training;

import dev.tessera.sharedmem.DType;
import dev.tessera.sharedmem.TensorRef;
import java.io.Serializable;
import java.util.Objects;

/**
 * One parameter of a shared Block: its name and the stub of its shared tensor. Immutable and thread-safe; it
 * owns no memory (the stub only names a segment, see {@link TensorRef}).
 *
 * @param name the parameter's name as {@code Block.getParameters()} lists it, e.g. {@code 01Linear_weight}
 * @param ref the stub of the tensor holding its values
 */
public record SharedParameter(String name, TensorRef ref) implements Serializable {
    private static final long serialVersionUID = 1L;

    /**
     * Checks both values.
     *
     * @param name the parameter's name, not blank
     * @param ref the stub, not read-only
     * @throws IllegalArgumentException if the name is blank or the stub is read-only
     */
    public SharedParameter {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(ref, "ref");
        if (name.isBlank()) {
            throw new IllegalArgumentException("name='" + name + "' (expected a parameter name)");
        }
        if (ref.isReadOnly()) {
            throw new IllegalArgumentException("parameter '" + name + "': read-only stub " + ref
                    + " (expected a writable one: attached Blocks train on it)");
        }
    }

    /**
     * The parameter's shape.
     *
     * @return a copy of the dimensions
     */
    public long[] shape() {
        return ref.shape();
    }

    /**
     * The parameter's element type.
     *
     * @return the dtype
     */
    public DType dtype() {
        return ref.dtype();
    }
}
