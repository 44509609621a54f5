package dev.tessera.tools.assign;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When the CLI's main starts loading DJL's engine before parsing its arguments. */
class EarlyEngineLoadTest {
    @TempDir
    Path dir;

    @Test
    void aLargeGraphFileOfAssignLoadsTheEngineEarly() throws Exception {
        Path large = Files.writeString(dir.resolve("large.json"), "x".repeat(5000));
        assertTrue(AssignCli.needsEngineEarly("assign", large.toString()));
        assertTrue(AssignCli.needsEngineEarly("assign", "--format", "json", large.toString(), "--seed", "3"));
    }

    @Test
    void nothingElseDoes() throws Exception {
        Path large = Files.writeString(dir.resolve("large.json"), "x".repeat(5000));
        Path small = Files.writeString(dir.resolve("small.json"), "x".repeat(4096));
        assertFalse(AssignCli.needsEngineEarly("assign", small.toString()), "a file of at most 4,096 bytes");
        assertFalse(AssignCli.needsEngineEarly("assign", dir.resolve("absent.json").toString()));
        assertFalse(AssignCli.needsEngineEarly("assign", dir.toString()), "a folder");
        assertFalse(AssignCli.needsEngineEarly("assign", large.toString(), "--help"));
        assertFalse(AssignCli.needsEngineEarly("assign", "-V", large.toString()));
        assertFalse(AssignCli.needsEngineEarly("demo", large.toString()));
        assertFalse(AssignCli.needsEngineEarly("assign"));
        assertFalse(AssignCli.needsEngineEarly("assign", "bad\u0000path"));
    }
}
