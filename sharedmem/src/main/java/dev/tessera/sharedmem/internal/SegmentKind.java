package dev.tessera.sharedmem.internal;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.ServiceLoader;

/**
 * A kind of segment that a layer built on segments registers, so that the reaper and listings can treat its
 * files without knowing that layer: implementations are stateless and thread-safe and own no memory; the
 * {@link Holders} view one reaper pass opens owns what it maps and unmaps it on close.
 *
 * <p>The segment layer knows a kind only as the code in the header's kind bits
 * ({@link SegmentDescriptor#getKind}) and through this interface, as Agrona's ring buffers know nothing of
 * Aeron. Kinds are found with {@link ServiceLoader} ({@code META-INF/services}), so a reaper in a JVM that never
 * used the layer (./tessera shm gc) still knows them. A kind's segments are holders: other segments may link to
 * one by name and generation ({@link SegmentDescriptor#putLink}), and the kind answers whether a live holder still
 * holds such a linked segment. The store is one kind (its index is the holder, its values the linked segments);
 * named segments ({@link NamedSegments}) are the other, holders that hold nothing, registered for their names,
 * their handles-only lifetime and their unlink claim.
 */
public interface SegmentKind {
    /** The code in the header's kind bits, 1 to {@link SegmentDescriptor#MAX_KIND}. */
    int code();

    /** Whether {@code fileName} (in the segment directory) names one of this kind's files. */
    boolean ownsFileName(String fileName);

    /** The name a file of this kind is listed under (a store's name), from its file name; null if none. */
    String holderNameOf(String fileName);

    /** What listings call this kind's files; a store index by default. */
    default dev.tessera.sharedmem.SegmentInfo.Kind listedAs() {
        return dev.tessera.sharedmem.SegmentInfo.Kind.STORE;
    }

    /**
     * Bytes of a released file's data region that {@link #claimUnlink} reads (the reaper maps the header and
     * this many bytes after it).
     */
    int claimBytes();

    /**
     * Claims the unlink of a released file of this kind whose data region starts at {@code data}: exactly one
     * process may unlink such a file, because its name is reused (a new holder of the same name may be created
     * at once). Returns whether this call won the claim.
     */
    boolean claimUnlink(MemorySegment data);

    /** Opens a view of this kind's holders in {@code directory} for one reaper pass, trusting files as {@code trust}. */
    Holders holders(Path directory, FileTrust trust);

    /** This kind's holders in one directory, as one pass sees them. Not thread-safe; the pass closes it. */
    interface Holders extends AutoCloseable {
        /**
         * Whether a live holder named {@code holderName} with {@code holderGeneration} still holds the segment
         * {@code segmentName} with {@code segmentGeneration}.
         */
        boolean holds(String holderName, long holderGeneration, String segmentName, long segmentGeneration);

        @Override
        void close();
    }

    /** The registered kinds, in the order the service loader found them. */
    static List<SegmentKind> registered() {
        return Registered.KINDS;
    }

    /** The registered kind with {@code code}, or null. */
    static SegmentKind of(int code) {
        for (SegmentKind k : Registered.KINDS) {
            if (k.code() == code) {
                return k;
            }
        }
        return null;
    }

    /** The registered kind that owns {@code fileName}, or null. */
    static SegmentKind owning(String fileName) {
        for (SegmentKind k : Registered.KINDS) {
            if (k.ownsFileName(fileName)) {
                return k;
            }
        }
        return null;
    }

    /** Loaded once, on first use. */
    final class Registered {
        private static final List<SegmentKind> KINDS = ServiceLoader.load(SegmentKind.class, SegmentKind.class.getClassLoader())
                .stream().map(ServiceLoader.Provider::get).toList();

        private Registered() {}
    }
}
