package dev.tessera.pool.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.tessera.pool.ProcessLeakCheck;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link Parallel}'s {@code maxNbytes} reaches its worker JVMs: an array argument of that many bytes travels
 * inline, one byte more by stub, whether the builder or an enclosing scope sets it. Each task counts the segments
 * that exist while it runs, in a segment directory private to the test.
 */
@Tag("integration")
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ParallelThresholdTest {
    private static final String SHM_DIR_PROPERTY = "tessera.shm.dir";
    private Path shmDir;

    @BeforeEach
    void privateSegmentDirectory() throws IOException {
        Path root = Files.isWritable(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
        shmDir = Files.createDirectory(root.resolve("tessera-paralleltest-" + UUID.randomUUID()),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        System.setProperty(SHM_DIR_PROPERTY, shmDir.toString());
    }

    @AfterEach
    void nothingLeaks() throws IOException {
        try {
            ProcessLeakCheck.assertAtMost(0);
            try (Stream<Path> s = Files.list(shmDir)) {
                Set<Path> left = s.collect(Collectors.toSet());
                for (Path p : left) {
                    Files.deleteIfExists(p);
                }
                assertEquals(Set.of(), left, "shared-memory segments left behind");
            }
        } finally {
            System.clearProperty(SHM_DIR_PROPERTY);
            Files.deleteIfExists(shmDir);
        }
    }

    private static long filesIn(String dir) {
        try (Stream<Path> s = Files.list(Path.of(dir))) {
            return s.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Segments that exist while a worker runs a task on an INT8 array of {@code bytes} bytes (one call each). */
    private long segmentsWhileATaskHolds(Parallel parallel, int bytes) {
        String dir = shmDir.toString();
        try (NDManager manager = NDManager.newBaseManager()) {
            return parallel.map((NDArray x) -> x.size() == bytes ? filesIn(dir) : -1L,
                    List.of(manager.create(new byte[bytes]))).get(0);
        }
    }

    private static Parallel.Builder processes() {
        return Parallel.builder().optNJobs(2).optBackend(Parallel.Backend.PROCESSES); // nJobs=1 runs sequentially
    }

    @Test
    void theBuildersMaxNbytesReachesTheWorkers() {
        try (Parallel parallel = processes().optMaxNbytes(1000).build()) {
            assertEquals(Parallel.Backend.PROCESSES, parallel.backend());
            assertEquals(0, segmentsWhileATaskHolds(parallel, 1000), "maxNbytes bytes travel inline");
            assertEquals(1, segmentsWhileATaskHolds(parallel, 1001), "one byte more travels by stub");
        }
    }

    @Test
    @SuppressWarnings("try")
    void aScopesMaxNbytesReachesTheWorkers() {
        Parallel parallel;
        try (ParallelConfig.Scope s = Parallel.config().optMaxNbytes(0).apply()) {
            parallel = processes().build();
        }
        try (parallel) {
            assertEquals(1, segmentsWhileATaskHolds(parallel, 1), "maxNbytes=0: even one byte travels by stub");
        }
    }
}
