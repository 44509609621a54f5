package dev.tessera.sharedmem;

import java.nio.file.Path;

/**
 * Thrown when a segment or store file is refused because of who owns it or who else may access it: a file
 * owned by another user (and not {@linkplain dev.tessera.sharedmem.store.SharedStore.Builder#optTrustedOwners trusted}), or one with group
 * or other permission bits (unless {@linkplain dev.tessera.sharedmem.store.SharedStore.Builder#optAllowSharedModes allowed}). Immutable.
 * See "Ownership and permissions" in the module README for the rule and how to opt in.
 */
public final class UntrustedFileException extends SharedMemoryException {
    private static final long serialVersionUID = 1L;

    private final transient Path path;
    /** The numeric owner uid, or -1 if unknown. */
    private final int ownerUid;
    /** The file's permission bits. */
    private final int mode;

    /**
     * Creates the exception.
     *
     * @param path the refused file
     * @param ownerUid the numeric user id that owns it, or -1 if unknown
     * @param mode its permission bits (for example {@code 0644})
     * @param message why it was refused and how to opt in
     */
    public UntrustedFileException(Path path, int ownerUid, int mode, String message) {
        super(message);
        this.path = path;
        this.ownerUid = ownerUid;
        this.mode = mode;
    }

    /**
     * The refused file. Not serialized: null after deserialization.
     *
     * @return its path
     */
    public Path path() {
        return path;
    }

    /**
     * The file's owner.
     *
     * @return the numeric user id that owns it, or -1 where the platform does not tell
     */
    public int ownerUid() {
        return ownerUid;
    }

    /**
     * The file's permissions.
     *
     * @return its permission bits (for example {@code 0644})
     */
    public int mode() {
        return mode;
    }
}
