package dev.tessera.sharedmem.store;

import dev.tessera.sharedmem.UntrustedFileException;
import dev.tessera.sharedmem.internal.FileTrust;
import dev.tessera.sharedmem.internal.ProcessLiveness;
import dev.tessera.sharedmem.internal.SegmentDescriptor;
import dev.tessera.sharedmem.internal.SegmentFiles;
import dev.tessera.sharedmem.internal.SegmentKind;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The store indexes of one directory as one reaper pass sees them: answers whether a live store still holds a
 * value segment. Not thread-safe; one pass owns it and closes it, which unmaps what it mapped.
 *
 * <p>A value's link names its store by name and index generation, not by user: store index files carry their
 * creator's uid ({@code tessera-store-UID-NAME}), so every index file of that name that the ownership rule
 * admits is a candidate, and the one with the linked generation is the store.
 *
 * <p>A store holds a value when its index file exists with the generation the value's link names, is not
 * released, has a live owner or attached process, and has a live entry naming the value's segment and
 * generation. The entries are read as a consistent snapshot (see {@link StoreIndex#read}) and reused while the
 * index's sequence number does not change, so a snapshot is never older than the question.
 */
final class StoreCatalog implements SegmentKind.Holders {
    private static final long SNAPSHOT_TIMEOUT_NANOS = 2_000_000_000L;
    private static final HexFormat HEX = HexFormat.of();

    private final Path directory;
    private final FileTrust trust;
    private final Arena arena = Arena.ofConfined();
    private final Map<String, List<MemorySegment>> mappings = new HashMap<>();
    private final Map<String, Snapshot> snapshots = new HashMap<>();

    private record Snapshot(long sequence, Set<String> values) {}

    StoreCatalog(Path directory, FileTrust trust) {
        this.directory = directory;
        this.trust = trust;
    }

    @Override
    public boolean holds(String storeName, long storeGeneration, String segmentName, long valueGeneration) {
        byte[] valueNameBits = SegmentFiles.nameBits(segmentName);
        for (MemorySegment header : mappings.computeIfAbsent(storeName, this::mapAll)) {
            if (SegmentDescriptor.getGeneration(header) == storeGeneration) {
                return holds(header, storeName, valueNameBits, valueGeneration);
            }
        }
        return false;
    }

    private boolean holds(MemorySegment header, String storeName, byte[] valueNameBits, long valueGeneration) {
        if (SegmentDescriptor.getRefCountVolatile(header) < 0 || !alive(header)) {
            return false;
        }
        MemorySegment data = header.asSlice(SegmentDescriptor.HEADER_LENGTH);
        StoreIndex index = new StoreIndex(data, storeName, SNAPSHOT_TIMEOUT_NANOS);
        String snapshotKey = storeName + ":" + SegmentDescriptor.getGeneration(header);
        Snapshot snapshot = snapshots.get(snapshotKey);
        if (snapshot == null || snapshot.sequence() != index.sequenceVolatile()) {
            try {
                snapshot = snapshot(index);
            } catch (IllegalStateException e) {
                return true; // a live writer holds the index for long: assume it holds the value
            }
            snapshots.put(snapshotKey, snapshot);
        }
        return snapshot.values().contains(key(valueNameBits, valueGeneration));
    }

    private static Snapshot snapshot(StoreIndex index) {
        return index.read(() -> {
            long sequence = index.sequenceVolatile();
            Set<String> values = new HashSet<>();
            int capacity = index.capacity();
            for (long slot = 0; slot < capacity; slot++) {
                byte[] entry = index.entryImage(slot);
                if (StoreIndex.stateOf(entry) == StoreIndexDescriptor.STATE_LIVE
                        && StoreIndex.hasSegment(entry)) {
                    values.add(key(StoreIndex.segmentNameBitsOf(entry), StoreIndex.segmentGenerationOf(entry)));
                }
            }
            return new Snapshot(sequence, values);
        });
    }

    private static String key(byte[] nameBits, long generation) {
        return HEX.formatHex(nameBits) + ":" + generation;
    }

    private static boolean alive(MemorySegment header) {
        return ProcessLiveness.isAlive(SegmentDescriptor.getOwnerPid(header), SegmentDescriptor.getOwnerStartMillis(header))
                || SegmentDescriptor.anyAttachedAlive(header);
    }

    /** Every admitted, published index file of a store called {@code storeName}, of any user. */
    private List<MemorySegment> mapAll(String storeName) {
        List<MemorySegment> out = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, StoreFiles.PREFIX + "*-" + storeName)) {
            for (Path path : files) {
                if (storeName.equals(StoreFiles.storeNameOf(path.getFileName().toString()))) {
                    map(path).ifPresent(out::add);
                }
            }
        } catch (IOException e) {
            // an unreadable directory holds no index we could check
        }
        return out;
    }

    private Optional<MemorySegment> map(Path path) {
        try {
            long size = SegmentFiles.regularFileSize(path);
            if (size < SegmentDescriptor.HEADER_LENGTH) {
                return Optional.empty();
            }
            MemorySegment m = SegmentFiles.mapRange(path, FileChannel.MapMode.READ_WRITE, 0, size, arena, trust);
            if (SegmentDescriptor.getLayoutVersionAcquire(m) != SegmentDescriptor.LAYOUT_VERSION
                    || !(SegmentDescriptor.getKind(m) == StoreSegments.KIND)) {
                return Optional.empty();
            }
            StoreIndex.checkLayout(m.asSlice(SegmentDescriptor.HEADER_LENGTH), path.toString());
            return Optional.of(m);
        } catch (IOException | IllegalStateException | UntrustedFileException e) {
            return Optional.empty(); // missing, unpublished, not an index or not trusted: it holds nothing
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
