package dev.tessera.tools.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

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
    void helpPrintsTheUsageAndExitCodesAndExitsZero() {
        for (String[] args : List.of(new String[] {"--help"}, new String[] {"-h"}, new String[] {"ls", "--help"},
                new String[] {"gc", "-h"}, new String[] {"gc", "--dir", "/no/such/dir", "--help"})) {
            out.getBuffer().setLength(0);
            assertEquals(0, run(args), String.join(" ", args) + ": " + err);
            String help = out.toString();
            String command = args[0].startsWith("-") ? "" : " " + args[0];
            assertTrue(help.startsWith("Usage: ./tessera shm" + command + " "), help);
            assertTrue(help.contains("Exit codes: 0"), help);
            assertEquals("", err.toString());
        }
        assertTrue(out.toString().contains("--grace-seconds=S") && out.toString().contains("(default: 60)"), out.toString());
    }

    static Stream<Arguments> badArguments() {
        return Stream.of(
                Arguments.of(List.of(), "shm", List.of("missing command (expected ls or gc)")),
                Arguments.of(List.of("frobnicate"), "shm", List.of("unknown command 'frobnicate' (expected ls or gc)")),
                Arguments.of(List.of("--version"), "shm", List.of("unknown option '--version'")),
                Arguments.of(List.of("gc", "--grace-seconds", "-1"), "shm gc", List.of("--grace-seconds=-1 (expected >= 0)")),
                Arguments.of(List.of("gc", "--grace-seconds", "x"), "shm gc",
                        List.of("--grace-seconds", "'x' is not a whole number of seconds")),
                Arguments.of(List.of("ls", "--no-such-option"), "shm ls",
                        List.of("unknown option '--no-such-option' (expected --debug, --dir, --help)")),
                Arguments.of(List.of("ls", "extra"), "shm ls", List.of("unexpected argument 'extra'")),
                Arguments.of(List.of("ls", "--dir"), "shm ls", List.of("--dir")),
                Arguments.of(List.of("ls", "--dir", "/no/such/dir"), "shm ls", List.of("--dir /no/such/dir: no such directory")),
                Arguments.of(List.of("gc", "--dir", "/proc/self/stat"), "shm gc", List.of("--dir /proc/self/stat: not a directory")));
    }

    @ParameterizedTest(name = "shm {0}")
    @MethodSource("badArguments")
    void aBadArgumentIsOneLineNamingItAndExitTwo(List<String> args, String command, List<String> parts) {
        assertEquals(2, run(args.toArray(String[]::new)), err.toString());
        assertEquals("", out.toString(), "stdout");
        String line = err.toString().strip();
        assertFalse(line.contains("\n") || line.contains("Exception") || line.contains("\tat "), "not one line: " + err);
        assertTrue(line.startsWith("tessera: bad input: "), line);
        assertTrue(line.endsWith("(see ./tessera " + command + " --help)"), line);
        for (String part : parts) {
            assertTrue(line.contains(part), "missing '" + part + "' in: " + line);
        }
    }

    @Test
    void debugAddsTheStackTraceToABadArgument() {
        assertEquals(2, run("ls", "--debug", "--dir", "/no/such/dir"));
        assertTrue(err.toString().startsWith("tessera: bad input: --dir /no/such/dir"), err.toString());
        assertTrue(err.toString().contains("\tat "), err.toString());
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
