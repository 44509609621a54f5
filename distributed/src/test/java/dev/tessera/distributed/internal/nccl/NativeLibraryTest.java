package dev.tessera.distributed.internal.nccl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The library search: its order, and errors that name every setting a user can change. */
class NativeLibraryTest {
    private static final NativeLibrary ABSENT = new NativeLibrary("NCCL", "tessera.nccl.library",
            "TESSERA_NCCL_LIBRARY", List.of("libtessera-absent-nccl.so.2"), "libtessera-absent-nccl.so",
            "nvidia-nccl-cu13");

    @Test
    void missingEverywhereNamesThePropertyTheVariableTheLoaderPathAndPip(@TempDir Path site) {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> ABSENT.open(null, null, () -> List.of(site)));
        String m = e.getMessage();
        for (String must : List.of("TESSERA_NCCL_LIBRARY", "-Dtessera.nccl.library", "LD_LIBRARY_PATH",
                "pip install nvidia-nccl-cu13", "libtessera-absent-nccl.so.2 (the loader's path)",
                site.resolve("nvidia") + "/*/lib")) {
            assertTrue(m.contains(must), "missing '" + must + "' in: " + m);
        }
    }

    @Test
    void aSettingThatIsNotAFileIsRefusedWithItsNameAndValue() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> ABSENT.open(null, "/nowhere/libnccl.so.2", List::of));
        assertTrue(e.getMessage().contains("TESSERA_NCCL_LIBRARY=/nowhere/libnccl.so.2 is not a file"),
                e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> ABSENT.open("/elsewhere/x.so", "/nowhere/y.so", List::of));
        assertTrue(e.getMessage().contains("-Dtessera.nccl.library=/elsewhere/x.so"), "the property comes first: "
                + e.getMessage());
    }

    @Test
    void theSettingLoadsTheNamedLibrary() throws IOException {
        Path libc = Files.list(Path.of("/lib/x86_64-linux-gnu")).filter(p -> p.getFileName().toString()
                .equals("libc.so.6")).findFirst().orElseThrow();
        var lookup = ABSENT.open(libc.toString(), null, List::of);
        assertTrue(lookup.find("getpid").isPresent());
    }

    @Test
    void findsTheLibraryInPipsNvidiaFoldersAndRefusesOneThatCannotLoad(@TempDir Path site) throws IOException {
        Path lib = Files.createDirectories(site.resolve("nvidia/nccl/lib"));
        Files.writeString(lib.resolve("libtessera-absent-nccl.so"), "not an ELF file");
        Files.writeString(lib.resolve("libtessera-absent-nccl.so.2"), "not an ELF file");
        assertEquals(lib.resolve("libtessera-absent-nccl.so.2"), ABSENT.findUnder(site.resolve("nvidia")));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> ABSENT.open(null, null, () -> List.of(site)));
        assertTrue(e.getMessage().contains(lib.resolve("libtessera-absent-nccl.so.2")
                + " (from python3's site-packages) exists but cannot be loaded"), e.getMessage());
    }

    @Test
    void theRealSettingsAreTheDocumentedOnes() {
        assertEquals("TESSERA_NCCL_LIBRARY", NativeLibrary.NCCL.env());
        assertEquals("tessera.nccl.library", NativeLibrary.NCCL.property());
        assertEquals("libnccl.so.2", NativeLibrary.NCCL.sonames().getFirst());
        assertEquals("TESSERA_CUDART_LIBRARY", NativeLibrary.CUDART.env());
        assertEquals("tessera.cudart.library", NativeLibrary.CUDART.property());
    }
}
