package dev.tessera.queue.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A copy of sharedmem's test extension (its test classes are not published). Gives every test its own segment directory (under {@code /dev/shm} when it exists) through the
 * {@code tessera.shm.dir} property, and checks after the test that nothing is left in it and no child
 * process is left alive. Leftovers are removed and then fail the test, so one leak never hides another.
 */
public final class ShmLeakCheck implements BeforeEachCallback, AfterEachCallback {
    /** sharedmem's segment directory property ({@code SharedSegment.defaultDirectory()} reads it). */
    static final String DIRECTORY_PROPERTY = "tessera.shm.dir";
    private static volatile Path current;

    /** The current test's segment directory. */
    public static Path directory() {
        return current;
    }

    /** How many files the test's shared-memory directory holds now. */
    public static long fileCount() {
        try (Stream<Path> files = Files.list(directory())) {
            return files.count();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) throws IOException {
        Path root = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
        current = Files.createDirectory(root.resolve("tessera-test-" + UUID.randomUUID()));
        System.setProperty(DIRECTORY_PROPERTY, current.toString());
    }

    @Override
    public void afterEach(ExtensionContext context) throws IOException {
        Path dir = current;
        System.clearProperty(DIRECTORY_PROPERTY);
        current = null;
        List<ProcessHandle> children = ProcessHandle.current().children().filter(ProcessHandle::isAlive).toList();
        children.forEach(ProcessHandle::destroyForcibly);
        List<String> left;
        try (Stream<Path> files = Files.list(dir)) {
            left = files.map(p -> p.getFileName().toString()).sorted().toList();
        }
        deleteTree(dir);
        if (!left.isEmpty() || !children.isEmpty()) {
            throw new AssertionError("leak check failed for " + context.getDisplayName() + ": files left in the "
                    + "segment directory " + left + ", child processes left alive " + children.stream()
                            .map(ProcessHandle::pid).toList());
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
