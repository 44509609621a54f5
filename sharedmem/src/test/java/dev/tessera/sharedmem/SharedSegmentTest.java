package dev.tessera.sharedmem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.tessera.sharedmem.internal.SegmentMappings;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(ShmLeakCheck.class)
class SharedSegmentTest {

    @Test
    void createsOwnerOnlyFilesWithRandomNamesAndUnlinksOnLastClose() throws Exception {
        SharedSegment a = SharedSegment.builder().setSize(100).build();
        SharedSegment b = SharedSegment.builder().setSize(100).build();
        assertNotEquals(a.name(), b.name());
        assertTrue(a.name().matches("tessera-[0-9a-f]{32}"), a.name());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(a.path())));
        assertEquals(128, a.dataSize(), "rounded up to 64 bytes");
        assertEquals(4096 + 128, Files.size(a.path()));
        try (SharedSegment again = SharedSegment.open(a.name())) {
            assertEquals(2, again.refCountVolatile());
            again.data().set(ValueLayout.JAVA_LONG, 0, 42);
        }
        assertEquals(42, a.data().get(ValueLayout.JAVA_LONG, 0));
        a.close();
        a.close();
        b.close();
        assertFalse(Files.exists(a.path()));
        assertFalse(Files.exists(b.path()));
        assertThrows(IllegalStateException.class, a::data);
    }

    @Test
    void handlesShareOneMappingButClosingOneInvalidatesOnlyItsOwnViews() {
        try (SharedSegment a = SharedSegment.builder().setSize(64).build()) {
            SharedSegment b = SharedSegment.open(a.name());
            MemorySegment viewA = a.data();
            MemorySegment viewB = b.data();
            assertEquals(viewA.address(), viewB.address(), "one mapping per process");
            b.close();
            assertThrows(IllegalStateException.class, () -> viewB.get(ValueLayout.JAVA_LONG, 0));
            viewA.set(ValueLayout.JAVA_LONG, 0, 5);
            assertEquals(5, a.data().get(ValueLayout.JAVA_LONG, 0));
            assertEquals(1, a.refCountVolatile());
        }
    }

    @Test
    void aMappingStaysIdleWhileItsSegmentLivesAndIsUnmappedWhenItDies() {
        SegmentMappings.evictAllIdle();
        try (NDManager sender = NDManager.newBaseManager()) {
            TensorCodec codec = TensorCodec.builder().mode(TensorCodec.Mode.SHARE).build();
            byte[] message = codec.encode(sender.ones(new Shape(4)));
            assertEquals(1, SegmentMappings.idleCount(), "the segment lives on in the message: kept mapped");
            NDManager receiver = NDManager.newBaseManager();
            assertEquals(4f, ((NDArray) codec.decode(message, receiver)).sum().getFloat());
            assertEquals(0, SegmentMappings.idleCount(), "in use again");
            receiver.close();
            assertEquals(0, SegmentMappings.idleCount(), "its last reference is gone: unmapped at once");
        }
    }

    @Test
    void refusesToFollowSymlinks() throws Exception {
        try (SharedSegment real = SharedSegment.builder().setSize(64).build()) {
            Path link = ShmLeakCheck.directory().resolve("tessera-00000000000000000000000000000001");
            Files.createSymbolicLink(link, real.path());
            try {
                UncheckedIOException e = assertThrows(UncheckedIOException.class,
                        () -> SharedSegment.open(link.getFileName().toString()));
                assertTrue(e.getMessage().contains("symlink"), e.getMessage());
                assertTrue(SegmentReaper.list(ShmLeakCheck.directory()).stream()
                        .noneMatch(s -> s.path().equals(link)), "the reaper ignores symlinks too");
            } finally {
                Files.delete(link);
            }
            assertTrue(Files.isRegularFile(real.path(), LinkOption.NOFOLLOW_LINKS));
        }
    }

    @Test
    void firstUseOfADirectoryRunsTheReaper() throws Exception {
        Path stale = ShmLeakCheck.directory().resolve(dev.tessera.sharedmem.internal.SegmentFiles.newName());
        Files.createFile(stale, java.nio.file.attribute.PosixFilePermissions.asFileAttribute( // 0600, as creators make them
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        Files.write(stale, new byte[10]); // a creator that died before publishing its header
        Files.setLastModifiedTime(stale, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 120_000));
        try (SharedSegment s = SharedSegment.builder().setSize(64).build()) {
            assertFalse(Files.exists(stale));
            assertTrue(Files.exists(s.path()));
        }
    }

    @Test
    void rejectsNamesThatAreNotSegmentNames() {
        assertThrows(IllegalArgumentException.class, () -> SharedSegment.open("../etc/passwd"));
        assertThrows(IllegalArgumentException.class, () -> SharedSegment.open("tessera-XYZ"));
    }

    @Test
    void impossibleSizeIsASpaceExceptionNamingTheSizesAndLeavesNothing() {
        long huge = 1L << 50;
        SegmentSpaceException e = assertThrows(SegmentSpaceException.class,
                () -> SharedSegment.builder().setSize(huge).build());
        assertTrue(e.getMessage().contains(Long.toString(huge + 4096)), e.getMessage());
        assertTrue(e.requestedBytes() > huge);
        assertTrue(e.usableBytes() >= 0 && e.usableBytes() < huge);
        assertThrows(SegmentSpaceException.class, () -> SharedTensor.allocate(DType.FLOAT64, 1L << 47));
        try (SharedSegment stillWorks = SharedSegment.builder().setSize(8).build()) {
            assertEquals(64, stillWorks.dataSize());
        }
    }

    @Test
    void persistentSegmentSurvivesItsLastCloseWhileItsOwnerLives() {
        SharedSegment s = SharedSegment.builder().setSize(64).optPersistent(true).build();
        String name = s.name();
        s.close();
        assertTrue(Files.exists(ShmLeakCheck.directory().resolve(name)));
        assertEquals(List.of(), SegmentReaper.reap(ShmLeakCheck.directory()), "the owner (this JVM) is alive");
        try (SharedSegment reopened = SharedSegment.open(name)) {
            assertTrue(reopened.isPersistent());
            assertEquals(1, reopened.refCountVolatile());
        }
        deleteForTest(ShmLeakCheck.directory().resolve(name));
    }

    @Test
    void concurrentOpensAndClosesFromManyThreadsEndAtTheExactCount() throws Exception {
        try (SharedSegment s = SharedSegment.builder().setSize(64).build()) {
            int threads = 8;
            CyclicBarrier ready = new CyclicBarrier(threads + 1);
            CyclicBarrier release = new CyclicBarrier(threads + 1);
            List<Thread> workers = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                workers.add(Thread.ofPlatform().start(() -> {
                    try {
                        dev.tessera.sharedmem.testing.ChildMain.RefCountWork.churnAndHold(s.name(), 200, 3, ready,
                                release);
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                }));
            }
            ready.await();
            assertEquals(1 + threads * 3, s.refCountVolatile());
            release.await();
            for (Thread w : workers) {
                w.join();
            }
            assertEquals(1, s.refCountVolatile());
        }
    }

    private static void deleteForTest(Path p) {
        try {
            Files.delete(p);
        } catch (java.io.IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
