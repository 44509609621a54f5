package dev.tessera.sharedmem.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.sharedmem.SegmentSpaceException;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(ShmLeakCheck.class)
class SegmentFilesTest {

    @Test
    void fallocateFailureIsASpaceExceptionAndRemovesTheFile() {
        assertTrue(Libc.isAvailable(), "these tests run on Linux x86-64/AArch64");
        Path path = ShmLeakCheck.directory().resolve(SegmentFiles.newName());
        SegmentSpaceException e = assertThrows(SegmentSpaceException.class,
                () -> SegmentFiles.createReserved(path, 1L << 50, false)); // past the early check: posix_fallocate
        assertTrue(e.getCause() instanceof Libc.ErrnoException, String.valueOf(e.getCause()));
        assertTrue(e.getMessage().contains(Long.toString(1L << 50)), e.getMessage());
        assertFalse(Files.exists(path));
    }

    @Test
    void reservesRealPagesNotASparseFile() throws Exception {
        Path path = ShmLeakCheck.directory().resolve(SegmentFiles.newName());
        SegmentFiles.createReserved(path, 1 << 20);
        try {
            Process stat = new ProcessBuilder("stat", "-c", "%b %B", path.toString()).start(); // blocks, block size
            String[] out = new String(stat.getInputStream().readAllBytes()).strip().split(" ");
            assertEquals(0, stat.waitFor());
            long allocated = Long.parseLong(out[0]) * Long.parseLong(out[1]);
            assertTrue(allocated >= 1 << 20, "allocated " + allocated + " bytes of a 1 MiB file");
        } finally {
            Files.delete(path);
        }
    }

    @Test
    void neverOverwritesOrFollowsAnExistingPath() throws Exception {
        Path target = ShmLeakCheck.directory().resolve("target");
        Files.writeString(target, "keep");
        Path link = ShmLeakCheck.directory().resolve(SegmentFiles.newName());
        Files.createSymbolicLink(link, target);
        try {
            assertThrows(FileAlreadyExistsException.class, () -> SegmentFiles.createReserved(link, 4096));
            assertThrows(FileSystemException.class, () -> SegmentFiles.mapExisting(link, java.lang.foreign.Arena.global(), FileTrust.OWN));
            assertEquals("keep", Files.readString(target));
            assertTrue(Files.isSymbolicLink(link), "a failed create must not delete what was there");
        } finally {
            Files.delete(link);
            Files.delete(target);
        }
    }

    @Test
    void namesCarry128RandomBits() {
        String name = SegmentFiles.newName();
        assertEquals(16, SegmentFiles.nameBits(name).length);
        assertEquals(name, SegmentFiles.nameOf(SegmentFiles.nameBits(name)));
        assertFalse(SegmentFiles.isSegmentName("tessera-test-1234"));
    }

    @Test
    void segmentNamesAreTesseraAnd32LowerCaseHexDigits() {
        String hex = "0123456789abcdef0123456789abcdef";
        assertTrue(SegmentFiles.isSegmentName("tessera-" + hex));
        assertFalse(SegmentFiles.isSegmentName(null));
        assertFalse(SegmentFiles.isSegmentName("tessera-" + hex.substring(1)), "31 digits");
        assertFalse(SegmentFiles.isSegmentName("tessera-" + hex + "0"), "33 digits");
        assertFalse(SegmentFiles.isSegmentName("tessera-" + hex.toUpperCase()), "upper case");
        assertFalse(SegmentFiles.isSegmentName("tessera-" + hex.replace('a', 'g')));
        assertFalse(SegmentFiles.isSegmentName("tessera-" + hex.replace('0', '/')));
        assertFalse(SegmentFiles.isSegmentName("tessera_" + hex));
        assertFalse(SegmentFiles.isSegmentName("Tessera-" + hex));
    }
}
