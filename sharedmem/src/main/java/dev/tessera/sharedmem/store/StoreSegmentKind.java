package dev.tessera.sharedmem.store;

import dev.tessera.sharedmem.internal.FileTrust;
import dev.tessera.sharedmem.internal.SegmentKind;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * The store's registration with the segment layer (found through {@code META-INF/services}): stateless and
 * thread-safe; it owns no memory. Not an API: it is public only because {@link java.util.ServiceLoader} needs
 * a public class with a public constructor.
 *
 * <p>A store index is a segment of kind {@link SharedStore}'s {@code KIND}, in a file named by
 * {@code StoreFiles}; its values are segments linked to it by the store's name and the index's generation. The
 * reaper asks this kind whether a live store still holds a value ({@link StoreCatalog}) and lets it claim the
 * unlink of a released index, whose name a new store may take at once ({@code StoreIndex.claimUnlink}).
 */
public final class StoreSegmentKind implements SegmentKind {
    /** For the service loader. */
    public StoreSegmentKind() {}

    @Override
    public int code() {
        return StoreSegments.KIND;
    }

    @Override
    public boolean ownsFileName(String fileName) {
        return StoreFiles.isFileName(fileName);
    }

    @Override
    public String holderNameOf(String fileName) {
        return StoreFiles.storeNameOf(fileName);
    }

    @Override
    public int claimBytes() {
        return StoreIndexDescriptor.UNLINK_CLAIM_OFFSET + Long.BYTES;
    }

    @Override
    public boolean claimUnlink(MemorySegment data) {
        return StoreIndex.claimUnlink(data);
    }

    @Override
    public Holders holders(Path directory, FileTrust trust) {
        return new StoreCatalog(directory, trust);
    }
}
