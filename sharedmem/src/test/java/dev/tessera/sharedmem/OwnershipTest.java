package dev.tessera.sharedmem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.sharedmem.internal.FileTrust;
import dev.tessera.sharedmem.internal.SegmentFiles;
import dev.tessera.sharedmem.internal.SegmentMappings;
import dev.tessera.sharedmem.store.SharedStore;
import dev.tessera.sharedmem.store.StoreTestFiles;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The ownership rule: files of another user or with group/other permission bits are refused unless the caller
 * opts in; store files carry the user id; stubs stay in the segment directory. Tests that need another user
 * ({@code chown nobody}) run only as root.
 */
@ExtendWith(ShmLeakCheck.class)
class OwnershipTest {
    private static final int NOBODY = 65534;

    @AfterEach
    void clearProperties() {
        System.clearProperty(FileTrust.TRUSTED_OWNERS_PROPERTY);
        System.clearProperty(FileTrust.ALLOW_SHARED_MODES_PROPERTY);
        System.clearProperty(SegmentFiles.ALLOWED_DIRECTORIES_PROPERTY);
    }

    /** A persistent segment this JVM no longer maps, so the next open maps (and checks) its file again. */
    private static SharedSegment closedPersistentSegment() {
        SharedSegment s = SharedSegment.builder().setSize(64).optPersistent(true).build();
        s.data().set(ValueLayout.JAVA_LONG, 0, 42);
        s.close();
        SegmentMappings.evictAllIdle();
        assertFalse(SegmentMappings.isCached(s.path()));
        return s;
    }

    @ParameterizedTest
    @ValueSource(strings = {"rw-r--r--", "rw-rw-rw-", "rw----r--", "rw--w----"})
    void refusesSegmentsWithGroupOrOtherPermissionBitsUnlessAllowed(String mode) throws Exception {
        SharedSegment s = closedPersistentSegment();
        try {
            Files.setPosixFilePermissions(s.path(), PosixFilePermissions.fromString(mode));
            UntrustedFileException e = assertThrows(UntrustedFileException.class,
                    () -> SharedSegment.open(s.directory(), s.name()));
            String octal = String.format("%04o", e.mode());
            assertEquals(PosixFilePermissions.toString(Files.getPosixFilePermissions(s.path())),
                    PosixFilePermissions.toString(modeToPermissions(e.mode())));
            assertTrue(e.getMessage().contains(s.path().toString()) && e.getMessage().contains("mode " + octal)
                    && e.getMessage().contains("uid " + FileTrust.selfUid())
                    && e.getMessage().contains(FileTrust.ALLOW_SHARED_MODES_PROPERTY), e.getMessage());
            assertFalse(SegmentMappings.isCached(s.path()), "nothing is mapped for a refused file");

            System.setProperty(FileTrust.ALLOW_SHARED_MODES_PROPERTY, "true");
            try (SharedSegment opened = SharedSegment.open(s.directory(), s.name())) {
                assertEquals(42, opened.data().get(ValueLayout.JAVA_LONG, 0));
            }
        } finally {
            Files.delete(s.path());
        }
    }

    private static java.util.Set<java.nio.file.attribute.PosixFilePermission> modeToPermissions(int mode) {
        java.util.Set<java.nio.file.attribute.PosixFilePermission> out = java.util.EnumSet.noneOf(
                java.nio.file.attribute.PosixFilePermission.class);
        for (java.nio.file.attribute.PosixFilePermission p : java.nio.file.attribute.PosixFilePermission.values()) {
            if ((mode & (0400 >> p.ordinal())) != 0) {
                out.add(p);
            }
        }
        return out;
    }

    @Test
    void stubsToASharedModeSegmentAreRefusedWithTheOwnershipError() throws Exception {
        SharedTensor t = SharedTensor.builder().setDType(DType.INT32).setShape(4).optPersistent(true).build();
        TensorRef ref = t.ref();
        Path file = ref.directory().resolve(ref.segmentName());
        t.close();
        SegmentMappings.evictAllIdle();
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-rw-rw-"));
            UntrustedFileException e = assertThrows(UntrustedFileException.class, ref::open);
            assertEquals(file, e.path());
            assertEquals(0666, e.mode());
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
            try (SharedTensor again = ref.open()) {
                assertEquals(4, again.shape()[0]);
            }
        } finally {
            Files.delete(file);
        }
    }

    @Test
    void aStoreIndexWithASharedModeIsRefusedUnlessTheBuilderAllowsIt() throws Exception {
        try (SharedStore store = SharedStore.builder().setName("modes").optPersistent(true).build()) {
            store.put("x", "planted?");
        }
        Path index = ShmLeakCheck.directory().resolve(StoreTestFiles.fileName("modes"));
        try {
            Files.setPosixFilePermissions(index, PosixFilePermissions.fromString("rw-rw-rw-"));
            UntrustedFileException e = assertThrows(UntrustedFileException.class, () -> SharedStore.open("modes"));
            assertTrue(e.getMessage().contains(index.toString()) && e.getMessage().contains("0666"), e.getMessage());
            try (SharedStore store = SharedStore.builder().setName("modes").optAllowSharedModes(true).build()) {
                assertEquals("planted?", store.get("x"));
                store.remove("x");
            }
        } finally {
            Files.deleteIfExists(index);
        }
    }

    @Test
    void aSquattedEmptyStoreFileIsRefusedAtOnceNotWaitedFor() throws Exception {
        Path squat = ShmLeakCheck.directory().resolve(StoreTestFiles.fileName("squat"));
        Files.createFile(squat);
        try {
            Files.setPosixFilePermissions(squat, PosixFilePermissions.fromString("rw-rw-rw-"));
            long start = System.nanoTime();
            UntrustedFileException e = assertThrows(UntrustedFileException.class, () -> SharedStore.builder()
                    .setName("squat").optLockTimeout(java.time.Duration.ofSeconds(30)).build());
            assertEquals(squat, e.path());
            assertTrue(System.nanoTime() - start < 10_000_000_000L, "not retried as a store being created");
        } finally {
            Files.delete(squat);
        }
    }

    @Test
    void storeFilesCarryTheUserIdAndTheReaperListsThem() {
        try (SharedStore store = SharedStore.open("named")) {
            String expected = "tessera-store-" + FileTrust.selfUid() + "-named";
            assertEquals(expected, store.path().getFileName().toString());
            assertEquals(expected, StoreTestFiles.fileName("named")); // the naming rules: StoreFilesTest
            List<SegmentInfo> infos = SegmentReaper.list(ShmLeakCheck.directory());
            assertEquals(1, infos.size());
            assertEquals(SegmentInfo.Kind.STORE, infos.getFirst().kind());
            assertEquals("named", infos.getFirst().store());
        }
    }

    @Test
    void stubsWithDotDotComponentsAreRefusedWhenParsed() {
        try (SharedTensor t = SharedTensor.allocate(DType.UINT8, 8)) {
            byte[] good = t.ref().toBytes();
            Path dir = t.ref().directory();
            String sneaky = dir.getParent() + "/sub/../" + dir.getFileName();
            byte[] forged = withDirectory(good, dir.toString(), sneaky);
            InvalidTensorRefException e = assertThrows(InvalidTensorRefException.class,
                    () -> TensorRef.fromBytes(forged));
            assertTrue(e.getMessage().contains(sneaky) && e.getMessage().contains(".."), e.getMessage());
            assertEquals(t.ref(), TensorRef.fromBytes(withDirectory(good, dir.toString(), dir.toString())));
            assertThrows(InvalidTensorRefException.class, () -> TensorRef.fromBytes(
                    withDirectory(good, dir.toString(), dir + "/.")));
        }
    }

    @Test
    void stubsNamingAnotherDirectoryAreRefusedUnlessAllowed() throws Exception {
        Path other = Files.createDirectory(ShmLeakCheck.directory().resolve("other"));
        try (SharedTensor t = SharedTensor.allocate(DType.UINT8, 8)) {
            TensorRef elsewhere = new TensorRef(other, t.ref().segmentName(), 0, DType.UINT8, new long[] {8},
                    t.ref().generation(), false);
            InvalidTensorRefException e = assertThrows(InvalidTensorRefException.class, elsewhere::open);
            assertTrue(e.getMessage().contains(other.toString())
                    && e.getMessage().contains(SegmentFiles.ALLOWED_DIRECTORIES_PROPERTY), e.getMessage());
            assertFalse(e.getCause() != null, "refused before touching the file system");

            System.setProperty(SegmentFiles.ALLOWED_DIRECTORIES_PROPERTY, "/nowhere" + java.io.File.pathSeparator + other);
            InvalidTensorRefException missing = assertThrows(InvalidTensorRefException.class, elsewhere::open);
            assertTrue(missing.getCause() != null, "now allowed: it looks for the file, which is not there");
        } finally {
            Files.delete(other);
        }
    }

    // ------------------------------------------------------------------------------ another user (root only)

    private static UserPrincipal nobody() throws IOException {
        return ShmLeakCheck.directory().getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
    }

    private static void assumeRoot() {
        Assumptions.assumeTrue(FileTrust.selfUid() == 0, "needs root to chown a file to another user");
    }

    @Test
    void segmentsOfAnotherUserAreRefusedUnlessTheirOwnerIsTrusted() throws Exception {
        assumeRoot();
        SharedSegment s = closedPersistentSegment();
        try {
            Files.setOwner(s.path(), nobody());
            assertEquals(NOBODY, (int) (Integer) Files.getAttribute(s.path(), "unix:uid"));
            UntrustedFileException e = assertThrows(UntrustedFileException.class,
                    () -> SharedSegment.open(s.directory(), s.name()));
            assertEquals(NOBODY, e.ownerUid());
            assertTrue(e.getMessage().contains("uid " + NOBODY + " (nobody)") && e.getMessage().contains("0600")
                    && e.getMessage().contains(FileTrust.TRUSTED_OWNERS_PROPERTY + "=" + NOBODY), e.getMessage());
            assertEquals(List.of(), SegmentReaper.list(s.directory()), "the reaper does not vouch for it");
            assertEquals(1, SegmentReaper.untrusted(s.directory()).size());

            System.setProperty(FileTrust.TRUSTED_OWNERS_PROPERTY, "1001, " + NOBODY);
            try (SharedSegment opened = SharedSegment.open(s.directory(), s.name())) {
                assertEquals(42, opened.data().get(ValueLayout.JAVA_LONG, 0));
            }
        } finally {
            Files.delete(s.path());
        }
    }

    @Test
    void aPlantedStoreIndexOfAnotherUserIsRefusedAndItsValueNeverReturned() throws Exception {
        assumeRoot();
        Path index = ShmLeakCheck.directory().resolve(StoreTestFiles.fileName("planted"));
        try {
            try (SharedStore attacker = SharedStore.builder().setName("planted").optPersistent(true).build()) {
                attacker.put("lr", 0.5); // inline: lives in the index itself
            }
            Files.setOwner(index, nobody()); // as if another user had created it first, world-writable
            Files.setPosixFilePermissions(index, PosixFilePermissions.fromString("rw-rw-rw-"));
            UntrustedFileException e = assertThrows(UntrustedFileException.class, () -> SharedStore.open("planted"));
            assertTrue(e.getMessage().contains(index.toString()) && e.getMessage().contains("uid " + NOBODY)
                    && e.getMessage().contains("0666"), e.getMessage());
            assertThrows(UntrustedFileException.class,
                    () -> SharedStore.builder().setName("planted").optTrustedOwners(NOBODY).build(),
                    "trusting the owner does not also allow its mode");

            // a deliberate multi-user store: the other user's namespace, opened with both opt-ins
            Path theirs = ShmLeakCheck.directory().resolve(StoreTestFiles.fileName(NOBODY, "planted"));
            Files.move(index, theirs);
            index = theirs;
            try (SharedStore shared = SharedStore.builder().setName("planted").optTrustedOwners(NOBODY)
                    .optAllowSharedModes(true).optCreate(false).build()) {
                assertEquals(theirs, shared.path());
                assertEquals(0.5, shared.get("lr"));
            }
        } finally {
            Files.deleteIfExists(index);
        }
    }

    @Test
    void untrustedFilesAreLeftAloneByTheReaperAndNamedByShmLs() throws Exception {
        assumeRoot();
        SharedSegment s = closedPersistentSegment();
        try {
            Files.setOwner(s.path(), nobody());
            assertEquals(List.of(), SegmentReaper.reap(s.directory(), java.time.Duration.ZERO));
            assertTrue(Files.exists(s.path()));
            // what `./tessera shm ls` prints as "N file(s) not listed"
            List<String> untrusted = SegmentReaper.untrusted(s.directory());
            assertEquals(1, untrusted.size(), untrusted.toString());
            assertTrue(untrusted.getFirst().contains(s.name()) && untrusted.getFirst().contains("owner uid " + NOBODY),
                    untrusted.toString());
        } finally {
            Files.delete(s.path());
        }
    }

    /** Replaces the trailing directory of a compact stub (its length is one varint byte here). */
    private static byte[] withDirectory(byte[] stub, String oldDir, String newDir) {
        byte[] o = oldDir.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] n = newDir.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(o.length < 128 && n.length < 128, "one-byte varints");
        int prefix = stub.length - o.length - 1;
        assertEquals(o.length, stub[prefix]);
        byte[] out = Arrays.copyOf(stub, prefix + 1 + n.length);
        out[prefix] = (byte) n.length;
        System.arraycopy(n, 0, out, prefix + 1, n.length);
        return out;
    }
}
