package dev.tessera.assigner.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The layout the module README promises, read from the sources: one PyTorch adapter, a package-info in every
 * package, and dependencies that point one way (no part of the algorithm reaches back into the plan's runner).
 */
class ArchitectureTest {
    private static final Path MAIN = Path.of("src/main/java/dev/tessera/assigner");

    @Test
    void onlyThePyTorchAdapterImportsPyTorchClasses() {
        List<String> importers = sources().filter(f -> read(f).contains("import ai.djl.pytorch."))
                .map(f -> MAIN.relativize(f).toString()).toList();
        assertEquals(List.of("internal/relax/PtRelaxationEngine.java"), importers);
    }

    @Test
    void everyPackageHasAPackageInfo() throws IOException {
        try (Stream<Path> dirs = Files.walk(MAIN)) {
            for (Path dir : dirs.filter(ArchitectureTest::holdsJavaFiles).toList()) { // git keeps no empty folder
                assertTrue(Files.exists(dir.resolve("package-info.java")), "no package-info.java in " + dir);
            }
        }
    }

    private static boolean holdsJavaFiles(Path dir) {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.anyMatch(f -> f.toString().endsWith(".java"));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void thePartsOfTheAlgorithmDoNotDependOnTheSearchRunner() {
        for (String part : List.of("graph", "start", "improve", "relax")) {
            sources().filter(f -> f.startsWith(MAIN.resolve("internal/" + part))).forEach(f -> assertTrue(
                    !read(f).contains("import dev.tessera.assigner.internal.search."), f + " imports internal.search"));
        }
        sources().filter(f -> f.getParent().equals(MAIN.resolve("internal"))).forEach(f -> assertTrue(
                !read(f).contains("import dev.tessera.assigner.internal."), f + " imports a sub-package"));
    }

    private static Stream<Path> sources() {
        try (Stream<Path> files = Files.walk(MAIN)) {
            List<Path> java = files.filter(f -> f.toString().endsWith(".java")).toList();
            assertTrue(java.size() > 20, "sources not found under " + MAIN.toAbsolutePath());
            return java.stream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
