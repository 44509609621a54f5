package dev.tessera.pool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.tessera.sharedmem.DType;
import dev.tessera.sharedmem.SharedTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tensors across a process pool: as stubs the worker writes into the parent's shared memory; as
 * copies it writes into its own copy. No worker and no segment survives a test.
 */
@Tag("integration")
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ProcessPoolTensorTest {
    private static final String SHM_DIR_PROPERTY = "tessera.shm.dir";
    private Path shmDir;

    /** A private segment directory for this test, so other modules' tests running meanwhile cannot interfere. */
    @BeforeEach
    void privateSegmentDirectory() throws IOException {
        Path root = Files.isWritable(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
        shmDir = Files.createDirectory(root.resolve("tessera-pooltest-" + java.util.UUID.randomUUID()),
                java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                        java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
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

    private ProcessPool.Builder pool() {
        return ProcessPool.builder().optWorkers(1).optJvmOptions("-D" + SHM_DIR_PROPERTY + "=" + shmDir);
    }

    /** Writes 42 into element 0 of the tensor the worker received, whatever form it arrived in. */
    private static String writeFortyTwo(Object received) {
        if (received instanceof SharedTensor t) {
            try (t) {
                t.asByteBuffer().putFloat(0, 42f);
            }
            return "SharedTensor";
        }
        NDArray a = (NDArray) received;
        a.set(new ai.djl.ndarray.index.NDIndex(0), 42f);
        return "NDArray";
    }

    @Test
    void stubsLetTheWorkerWriteWhatTheParentSees() {
        try (ProcessPool pool = pool().build();
                SharedTensor tensor = SharedTensor.allocate(DType.FLOAT32, 4)) {
            String form = pool.apply(ProcessPoolTensorTest::writeFortyTwo, tensor);
            assertEquals(42f, tensor.asByteBuffer().getFloat(0), "the parent sees the worker's write (" + form + ")");
        }
    }

    @Test
    void copiesKeepTheParentsTensorUnchanged() {
        try (ProcessPool pool = pool().optCopyTensors(true).build();
                SharedTensor tensor = SharedTensor.allocate(DType.FLOAT32, 4)) {
            tensor.asByteBuffer().putFloat(0, 7f);
            pool.apply(ProcessPoolTensorTest::writeFortyTwo, tensor);
            assertEquals(7f, tensor.asByteBuffer().getFloat(0), "a copy was written, not the parent's memory");
        }
    }

    /** Whether sharedmem's TensorCodec round-trips a DJL NDArray in this build (it did not when this was written). */
    private static boolean codecHandlesNdArrays() {
        try (NDManager m = NDManager.newBaseManager()) {
            dev.tessera.sharedmem.TensorCodec codec = dev.tessera.sharedmem.TensorCodec.builder()
                    .mode(dev.tessera.sharedmem.TensorCodec.Mode.COPY).build();
            return codec.decode(codec.encode(m.create(new float[] {1})), m) instanceof NDArray;
        } catch (RuntimeException e) {
            return false;
        }
    }

    @Test
    void ndArraysRoundTripInsideCollections() {
        org.junit.jupiter.api.Assumptions.assumeTrue(codecHandlesNdArrays(),
                "sharedmem's TensorCodec does not yet round-trip DJL NDArrays (PtNDArray rejected by its filter)");
        try (ProcessPool pool = pool().build();
                NDManager manager = NDManager.newBaseManager()) {
            NDArray a = manager.create(new float[] {1, 2, 3});
            List<Float> sums = pool.map((List<NDArray> pair) -> pair.get(0).add(pair.get(1)).sum().getFloat(),
                    List.of(List.of(a, a), List.of(a, a.mul(10))));
            assertEquals(List.of(12f, 66f), sums);
            float[] doubled = pool.apply((NDArray x) -> x.mul(2).toFloatArray(), a);
            assertArrayEquals(new float[] {2, 4, 6}, doubled);
            assertTrue(pool.apply((NDArray x) -> x.getShape().get(0), a) == 3L);
        }
    }
}
