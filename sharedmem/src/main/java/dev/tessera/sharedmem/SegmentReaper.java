package dev.tessera.sharedmem;

import dev.tessera.sharedmem.internal.FileTrust;
import dev.tessera.sharedmem.internal.ProcessLiveness;
import dev.tessera.sharedmem.internal.SegmentDescriptor;
import dev.tessera.sharedmem.internal.SegmentFiles;
import dev.tessera.sharedmem.internal.SegmentKind;
import dev.tessera.sharedmem.internal.SegmentMappings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Lists segments and removes leaked ones. Stateless and thread-safe; any number of reapers may run at once
 * in any number of processes.
 *
 * <p>A segment is leaked when its owner and every process with an attach slot are dead (see
 * {@link SegmentDescriptor}). The reaper reads the reference count first, then checks liveness, then swaps
 * the count it read for {@code RELEASED}; a process that opens the segment meanwhile either changed the count
 * (the swap fails and the segment stays) or finds it released and gets a clear error. Either way no live
 * process loses a segment it holds: at worst an opener loses the race and is told so. Files whose header was
 * never published are removed only after a grace period, because their creator may still be writing them.
 *
 * <p>Holders and linked segments: a layer built on segments (the store) registers a segment kind
 * ({@code internal.SegmentKind}, found through the service loader), whose segments are holders that only
 * handles hold (leaked when every process that opened one is dead; a persistent one also needs its creator
 * dead), and which other segments may link to (a store's values). A linked segment belongs to its holder, not
 * to the process that created it: it is leaked when no process has it open and the holder's kind says no live
 * holder holds it. Holder files are examined first, so a pass that removes a holder also removes what it
 * held. The kind is asked after the linked segment's attach slots are read, so a segment that is still being
 * added to its holder (its creator stays attached until then) is never mistaken for a leaked one. This class
 * knows nothing else of any kind.
 *
 * <p>Dead holders of live segments: while a segment's owner (or another holder) lives, {@link #reap} gives
 * back the references of attached processes that have exited (see
 * {@code SegmentDescriptor.releaseDeadHolders}), so a killed reader does not pin the segment; if that was the
 * last reference, the segment is removed in the same pass.
 *
 * <p>Files that the ownership rule refuses (another user's, or with group/other permission bits; see
 * {@code internal.FileTrust} and the system properties {@code tessera.shm.trustedOwners} and
 * {@code tessera.shm.allowSharedModes}) are neither listed nor touched: their headers cannot be trusted. A file
 * that another process truncated below a header is listed as unpublished (and removed after the grace period).
 */
public final class SegmentReaper {
    /** How long an unpublished file is left alone by default. */
    public static final Duration DEFAULT_UNPUBLISHED_GRACE = Duration.ofMinutes(1);

    private SegmentReaper() {}

    /**
     * Every segment file in {@code directory}, live or not; an absent directory has none.
     *
     * @param directory the segment directory
     * @return what was seen of each file the ownership rule admits, in no particular order
     */
    public static List<SegmentInfo> list(Path directory) {
        List<SegmentInfo> out = new ArrayList<>();
        FileTrust trust = FileTrust.fromSystemProperties();
        try (KindHolders holders = new KindHolders(directory, trust)) {
            for (Path path : segmentFiles(directory)) {
                inspect(path, false, holders, trust).ifPresent(out::add);
            }
        }
        return out;
    }

    /**
     * The segment files (and files of registered kinds) in {@code directory} that the ownership rule refuses, so {@link #list} and
     * {@link #reap} leave them out; each with why (owner and mode).
     *
     * @param directory the segment directory
     * @return one line per refused file: its name, then its owner uid and mode or the error
     */
    public static List<String> untrusted(Path directory) {
        List<String> out = new ArrayList<>();
        FileTrust trust = FileTrust.fromSystemProperties();
        for (Path path : segmentFiles(directory)) {
            try {
                SegmentFiles.openChecked(path, trust).close(); // admitted
            } catch (UntrustedFileException e) {
                out.add(path.getFileName() + ": owner uid " + e.ownerUid() + ", mode " + String.format("%04o", e.mode()));
            } catch (IOException e) {
                // gone meanwhile, or not readable by this user at all: not ours either way
                if (!(e instanceof NoSuchFileException)) {
                    out.add(path.getFileName() + ": " + e.getMessage());
                }
            }
        }
        return out;
    }

    /**
     * Removes leaked segments in {@code directory} and returns what it removed.
     *
     * Unpublished files are removed after {@link #DEFAULT_UNPUBLISHED_GRACE}.
     *
     * @param directory the segment directory
     * @return what was seen of each removed file
     */
    public static List<SegmentInfo> reap(Path directory) {
        return reap(directory, DEFAULT_UNPUBLISHED_GRACE);
    }

    /**
     * Removes leaked segments, and unpublished files older than {@code unpublishedGrace}.
     *
     * @param directory the segment directory
     * @param unpublishedGrace how long an unpublished file (being created, or its creator died) is left alone
     * @return what was seen of each removed file
     */
    public static List<SegmentInfo> reap(Path directory, Duration unpublishedGrace) {
        List<SegmentInfo> removed = new ArrayList<>();
        FileTrust trust = FileTrust.fromSystemProperties();
        try (KindHolders holders = new KindHolders(directory, trust)) {
            for (Path path : segmentFiles(directory)) {
                inspect(path, true, holders, trust)
                        .filter(info -> info.orphaned()
                                || (info.published() && info.refCount() == SegmentDescriptor.RELEASED)
                                || (!info.published() && info.ageMillis() > unpublishedGrace.toMillis()))
                        .filter(SegmentReaper::unlink)
                        .ifPresent(removed::add);
            }
        }
        return removed;
    }

    /** Segment files and the files of registered kinds, those first, each group sorted by name. */
    private static List<Path> segmentFiles(Path directory) {
        List<Path> files = new ArrayList<>();
        if (!Files.isDirectory(directory)) {
            return files;
        }
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory, SegmentFiles.PREFIX + "*")) {
            for (Path p : stream) {
                String name = p.getFileName().toString();
                if ((SegmentFiles.isSegmentName(name) || SegmentKind.owning(name) != null)
                        && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    files.add(p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + directory + ": " + e.getMessage(), e);
        }
        files.sort(Comparator.comparing((Path p) -> SegmentKind.owning(p.getFileName().toString()) == null)
                .thenComparing(Comparator.naturalOrder()));
        return files;
    }

    /**
     * What the mapped header of {@code path} says; with {@code claim}, an orphan is also marked released (empty if
     * its count moved meanwhile), and a live segment's dead holders are discounted.
     */
    private static Optional<SegmentInfo> fromHeader(Path path, long size, MemorySegment header, boolean claim,
            KindHolders holders) throws IOException {
        if (SegmentDescriptor.getLayoutVersionAcquire(header) != SegmentDescriptor.LAYOUT_VERSION
                || SegmentDescriptor.getMagic(header) != SegmentDescriptor.MAGIC) {
            return Optional.of(unpublished(path, size));
        }
        long refs = SegmentDescriptor.getRefCountVolatile(header);
        SegmentInfo info = published(path, size, header, refs, holders);
        if (claim && info.orphaned() && refs >= 0
                && !SegmentDescriptor.compareAndSetRefCount(header, refs, SegmentDescriptor.RELEASED)) {
            return Optional.empty(); // the count moved since we read it: someone is using the segment
        }
        if (claim && !info.orphaned() && refs > 0) {
            SegmentDescriptor.releaseDeadHolders(header);
            long now = SegmentDescriptor.getRefCountVolatile(header);
            if (now != refs) {
                return Optional.of(published(path, size, header, now, holders));
            }
        }
        return Optional.of(info);
    }

    /**
     * Reads one file's header; with {@code claim}, swaps an orphan's count for RELEASED so nobody revives it, and
     * gives back the references of dead holders of a segment that is not orphaned (its count is then RELEASED
     * if they were the last).
     */
    private static Optional<SegmentInfo> inspect(Path path, boolean claim, KindHolders holders, FileTrust trust) {
        long size = -1;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment header;
            try (SegmentFiles.CheckedFile f = SegmentFiles.openChecked(path, trust)) {
                size = f.status().size();
                if (size < SegmentDescriptor.HEADER_LENGTH) {
                    return Optional.of(unpublished(path, size));
                }
                header = f.channel().map(FileChannel.MapMode.READ_WRITE, 0, SegmentDescriptor.HEADER_LENGTH, arena);
            }
            return fromHeader(path, size, header, claim, holders);
        } catch (NoSuchFileException e) {
            return Optional.empty(); // released by its last holder while we looked
        } catch (UntrustedFileException e) {
            return Optional.empty(); // another user's file, or one others may write: its header proves nothing
        } catch (InternalError e) { // truncated by another process after we checked its size
            if (!SegmentMappings.isMappingFault(e) || size < 0) {
                throw e;
            }
            try {
                return Optional.of(unpublished(path, Math.min(size, SegmentDescriptor.HEADER_LENGTH - 1)));
            } catch (IOException gone) {
                return Optional.empty();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot inspect " + path + ": " + e.getMessage(), e);
        }
    }

    private static SegmentInfo published(Path path, long size, MemorySegment header, long refs, KindHolders holders) {
        long ownerPid = SegmentDescriptor.getOwnerPid(header);
        boolean ownerAlive = ProcessLiveness.isAlive(ownerPid, SegmentDescriptor.getOwnerStartMillis(header));
        List<Long> attached = new ArrayList<>();
        boolean anyAlive = false;
        for (int i = 0; i < SegmentDescriptor.SLOT_COUNT; i++) {
            long slot = SegmentDescriptor.getSlotVolatile(header, i);
            if (SegmentDescriptor.slotHandles(slot) > 0) {
                int pid = SegmentDescriptor.slotPid(slot);
                attached.add((long) pid);
                anyAlive |= ProcessLiveness.isAlive(pid, SegmentDescriptor.getSlotStartMillisAcquire(header, i));
            }
        }
        String name = path.getFileName().toString();
        SegmentInfo.Kind kind = SegmentInfo.Kind.SEGMENT;
        String store = null;
        boolean held = false;
        String linkedTo = SegmentDescriptor.getLinkName(header); // the holder this segment belongs to, if any
        SegmentKind holderKind = SegmentKind.of(SegmentDescriptor.getKind(header));
        if (holderKind != null) {
            kind = holderKind.listedAs();
            store = holderKind.holderNameOf(name);
        } else if (linkedTo != null) {
            kind = SegmentInfo.Kind.STORE_VALUE;
            store = linkedTo;
            // after the attach slots: see the class comment
            held = holders.holds(linkedTo, SegmentDescriptor.getLinkGeneration(header), name,
                    SegmentDescriptor.getGeneration(header));
        }
        long age = System.currentTimeMillis() - SegmentDescriptor.getCreatedMillis(header);
        return new SegmentInfo(name, path, size, true, SegmentDescriptor.isPersistent(header), ownerPid,
                ownerAlive, attached, anyAlive, refs, age, kind, store, held);
    }

    private static SegmentInfo unpublished(Path path, long size) throws IOException {
        long age = System.currentTimeMillis()
                - Files.getLastModifiedTime(path, LinkOption.NOFOLLOW_LINKS).toMillis();
        String name = path.getFileName().toString();
        SegmentKind kind = SegmentKind.owning(name);
        return new SegmentInfo(name, path, size, false, false, 0, false, List.of(), false, 0, age,
                kind != null ? kind.listedAs() : SegmentInfo.Kind.SEGMENT,
                kind != null ? kind.holderNameOf(name) : null, false);
    }

    private static boolean unlink(SegmentInfo info) {
        try {
            if (info.published() && SegmentKind.owning(info.name()) != null) { // a reused name: see claimUnlink
                return claimHolderUnlink(info.path()) && Files.deleteIfExists(info.path());
            }
            return Files.deleteIfExists(info.path());
        } catch (IOException | UntrustedFileException e) {
            return false;
        }
    }

    /** A released holder file may be unlinked by exactly one process (see SegmentKind#claimUnlink). */
    private static boolean claimHolderUnlink(Path path) throws IOException {
        SegmentKind kind = SegmentKind.owning(path.getFileName().toString());
        if (kind == null) {
            return true;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mapping = SegmentFiles.mapRange(path, FileChannel.MapMode.READ_WRITE, 0,
                    SegmentDescriptor.HEADER_LENGTH + kind.claimBytes(), arena, FileTrust.fromSystemProperties());
            return kind.claimUnlink(mapping.asSlice(SegmentDescriptor.HEADER_LENGTH));
        }
    }

    /** The holders of every registered kind in one directory, opened on first use by one pass. */
    private static final class KindHolders implements AutoCloseable {
        private final Path directory;
        private final FileTrust trust;
        private List<SegmentKind.Holders> opened; // null until the first question

        KindHolders(Path directory, FileTrust trust) {
            this.directory = directory;
            this.trust = trust;
        }

        boolean holds(String holderName, long holderGeneration, String segmentName, long segmentGeneration) {
            if (opened == null) {
                opened = new ArrayList<>();
                for (SegmentKind k : SegmentKind.registered()) {
                    opened.add(k.holders(directory, trust));
                }
            }
            for (SegmentKind.Holders h : opened) {
                if (h.holds(holderName, holderGeneration, segmentName, segmentGeneration)) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public void close() {
            if (opened != null) {
                opened.forEach(SegmentKind.Holders::close);
            }
        }
    }
}
