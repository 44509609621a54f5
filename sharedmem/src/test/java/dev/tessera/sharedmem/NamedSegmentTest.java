package dev.tessera.sharedmem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.sharedmem.internal.FileTrust;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@ExtendWith(ShmLeakCheck.class)
class NamedSegmentTest {
    @AfterEach
    void clearProperties() {
        System.clearProperty(FileTrust.ALLOW_SHARED_MODES_PROPERTY);
    }

    @Test
    void aNamedSegmentIsOpenedByItsNameAndSharesItsData() {
        try (SharedSegment created = SharedSegment.builder().setSize(100).optName("jobs.v1_a-B").build()) {
            assertEquals("jobs.v1_a-B", created.name());
            assertEquals("tessera-named-" + FileTrust.selfUid() + "-jobs.v1_a-B",
                    created.path().getFileName().toString());
            assertEquals(128, created.dataSize(), "100 bytes rounded up to 64, the claim line kept apart");
            created.data().set(ValueLayout.JAVA_LONG, 0, 42);
            try (SharedSegment opened = SharedSegment.open("jobs.v1_a-B")) {
                assertEquals(42, opened.data().get(ValueLayout.JAVA_LONG, 0));
                opened.data().set(ValueLayout.JAVA_LONG, 120, 9);
                assertEquals(created.path(), opened.path());
            }
            assertEquals(9, created.data().get(ValueLayout.JAVA_LONG, 120));
            assertEquals(0, created.data().address() % 64, "user data stays 64-byte aligned");
        }
        assertEquals(0, ShmLeakCheck.fileCount(), "the last close removes a named segment");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "-dash", ".hidden", "..", "a/b", "sp ace", "ümlaut", "a:b", "tessera-x",
            "abcdefghijklmnopqrstuvwxyz0123456"})
    void rejectsBadNamesNamingTheValue(String name) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SharedSegment.builder().optName(name));
        assertTrue(e.getMessage().contains("'" + name + "'") && e.getMessage().contains("1..32 characters"),
                e.getMessage());
        IllegalArgumentException open = assertThrows(IllegalArgumentException.class, () -> SharedSegment.open(name));
        assertTrue(open.getMessage().contains("'" + name + "'"), open.getMessage());
    }

    @Test
    void aNameLongerThan32SaysItsLength() {
        String name = "a".repeat(33);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SharedSegment.builder().optName(name));
        assertTrue(e.getMessage().contains("it has 33"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SharedSegment.builder().optName(null));
    }

    @Test
    void aTakenNameFailsClearlyAndIsFreeAgainOnceEveryHandleClosed() {
        SharedSegment first = SharedSegment.builder().setSize(64).optName("taken").build();
        try (SharedSegment second = SharedSegment.open("taken")) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> SharedSegment.builder().setSize(64).optName("taken").build());
            assertTrue(e.getMessage().contains("segment name 'taken' is taken") && e.getMessage().contains("live"),
                    e.getMessage());
            first.close();
            second.data().set(ValueLayout.JAVA_LONG, 0, 1); // the other handle still holds it
            assertThrows(IllegalStateException.class, () -> SharedSegment.builder().setSize(64).optName("taken")
                    .build());
        }
        try (SharedSegment again = SharedSegment.builder().setSize(64).optName("taken").build()) {
            assertEquals(0, again.data().get(ValueLayout.JAVA_LONG, 0), "a new segment, zero-filled");
        }
    }

    @Test
    void openingAMissingNameIsANoSuchFileError() {
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> SharedSegment.open("nobody"));
        assertTrue(e.getCause() instanceof NoSuchFileException);
        assertTrue(e.getMessage().contains("no segment named 'nobody'"), e.getMessage());
    }

    @Test
    void aNamedSegmentWithSharedModesIsRefusedLikeAnyOther() throws Exception {
        try (SharedSegment s = SharedSegment.builder().setSize(64).optName("modes").build()) {
            Files.setPosixFilePermissions(s.path(), PosixFilePermissions.fromString("rw-rw-rw-"));
            UntrustedFileException e = assertThrows(UntrustedFileException.class, () -> SharedSegment.open("modes"));
            assertEquals(s.path(), e.path());
            assertEquals(0666, e.mode());
            IllegalStateException taken = assertThrows(IllegalStateException.class,
                    () -> SharedSegment.builder().setSize(64).optName("modes").build());
            assertTrue(taken.getMessage().contains("taken"), taken.getMessage());
            System.setProperty(FileTrust.ALLOW_SHARED_MODES_PROPERTY, "true");
            SharedSegment.open("modes").close();
        }
    }

    @Test
    void tensorsAreRefusedInANamedSegment() {
        try (SharedSegment s = SharedSegment.builder().setSize(64).optName("raw").build()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> s.tensorAt(0, DType.INT8, 8));
            assertTrue(e.getMessage().contains("'raw' is named"), e.getMessage());
        }
    }

    @Test
    void listingsShowANamedSegmentUnderItsName() {
        try (SharedSegment s = SharedSegment.builder().setSize(64).optName("listed").build()) {
            List<SegmentInfo> infos = SegmentReaper.list(ShmLeakCheck.directory());
            assertEquals(1, infos.size());
            SegmentInfo info = infos.getFirst();
            assertEquals(SegmentInfo.Kind.NAMED, info.kind());
            assertEquals("listed", info.store());
            assertEquals(s.path(), info.path());
            assertFalse(info.orphaned());
            assertEquals(List.of(), SegmentReaper.reap(ShmLeakCheck.directory()));
        }
    }
}
