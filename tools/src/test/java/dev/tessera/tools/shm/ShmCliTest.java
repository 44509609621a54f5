package dev.tessera.tools.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.sharedmem.DType;
import dev.tessera.sharedmem.SharedTensor;
import dev.tessera.sharedmem.internal.SegmentFiles;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(ShmLeakCheck.class)
class ShmCliTest {
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        return ShmCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    }

    @Test
    void lsListsLiveSegmentsWithSizeOwnerAndAge() {
        try (SharedTensor t = SharedTensor.allocate(DType.FLOAT32, 256)) {
            assertEquals(0, run("ls", "--dir", ShmLeakCheck.directory().toString()));
            String text = out.toString();
            assertTrue(text.contains("1 segment(s)"), text);
            assertTrue(text.contains(t.ref().segmentName()), text);
            assertTrue(text.contains(Long.toString(4096 + 1024)), text);
            assertTrue(text.contains(Long.toString(ProcessHandle.current().pid())), text);
            assertTrue(text.contains("yes"), text);
        }
    }

    @Test
    void gcRemovesOnlyDeadSegmentsAndSaysWhat() throws Exception {
        try (SharedTensor live = SharedTensor.allocate(DType.INT8, 1)) { // (its creation runs the startup reaper)
            Path stale = ShmLeakCheck.directory().resolve(SegmentFiles.newName()); // a creator died mid-create
            Files.createFile(stale, java.nio.file.attribute.PosixFilePermissions.asFileAttribute( // 0600, as creators make them
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
            Files.write(stale, new byte[10]);
            Files.setLastModifiedTime(stale, FileTime.fromMillis(System.currentTimeMillis() - 120_000));
            assertEquals(0, run("gc", "--dir", ShmLeakCheck.directory().toString(), "--grace-seconds", "60"));
            String text = out.toString();
            assertTrue(text.contains("removed 1 segment(s)"), text);
            assertTrue(text.contains(stale.getFileName().toString()), text);
            assertTrue(Files.exists(live.ref().directory().resolve(live.ref().segmentName())));
        }
    }

    @Test
    void badUsageExitsWithTwo() {
        assertEquals(2, run());
        assertEquals(2, run("frobnicate"));
        assertEquals(2, run("gc", "--grace-seconds", "-1"));
        assertEquals(2, run("ls", "--no-such-option"));
        assertEquals(0, run("--help"));
    }
}
