package dev.tessera.pool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.tessera.sharedmem.DType;
import dev.tessera.sharedmem.SharedTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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

    private ProcessPool.Builder pool(boolean copyTensors) {
        return pool().optCopyTensors(copyTensors);
    }

    private long segmentsLeft() throws IOException {
        try (Stream<Path> s = Files.list(shmDir)) {
            return s.count();
        }
    }

    /** A manager in the worker JVM for tasks that create NDArrays without an NDArray argument; it lives as long as the worker. */
    private static NDManager workerManager;

    private static synchronized NDManager workerManager() {
        if (workerManager == null) {
            workerManager = NDManager.newBaseManager();
        }
        return workerManager;
    }

    @ParameterizedTest(name = "copyTensors={0}")
    @ValueSource(booleans = {false, true})
    void ndArraysRoundTripInsideCollections(boolean copyTensors) {
        try (ProcessPool pool = pool(copyTensors).build();
                NDManager manager = NDManager.newBaseManager()) {
            NDArray a = manager.create(new float[] {1, 2, 3});
            List<Float> sums = pool.map((List<NDArray> pair) -> pair.get(0).add(pair.get(1)).sum().getFloat(),
                    List.of(List.of(a, a), List.of(a, a.mul(10))));
            assertEquals(List.of(12f, 66f), sums);
            Map<String, NDArray> named = new HashMap<>(Map.of("x", a, "y", a.mul(-1)));
            assertEquals(0f, pool.<Map<String, NDArray>, Float>apply(m -> m.get("x").add(m.get("y")).sum().getFloat(), named));
            float[] doubled = pool.apply((NDArray x) -> x.mul(2).toFloatArray(), a);
            assertArrayEquals(new float[] {2, 4, 6}, doubled);
            assertEquals(3L, pool.<NDArray, Long>apply(x -> x.getShape().get(0), a));
            assertEquals(DataType.INT64, pool.<NDArray, DataType>apply(NDArray::getDataType, manager.create(new long[] {1, 2})));
        }
    }

    @ParameterizedTest(name = "copyTensors={0}")
    @ValueSource(booleans = {false, true})
    void aWorkersWriteToAnNDArrayArgumentDoesNotReachTheParent(boolean copyTensors) {
        try (ProcessPool pool = pool(copyTensors).build();
                NDManager manager = NDManager.newBaseManager()) {
            NDArray a = manager.create(new float[] {1, 2, 3});
            // a lambda, not a second method reference to writeFortyTwo with another type: javac's
            // $deserializeLambda$ tells such method references apart only by the method, not the type
            assertEquals("NDArray", pool.apply((NDArray x) -> writeFortyTwo(x), a));
            assertArrayEquals(new float[] {1, 2, 3}, a.toFloatArray(), "an NDArray argument reaches the worker as a copy");
        }
    }

    @ParameterizedTest(name = "copyTensors={0}")
    @ValueSource(booleans = {false, true})
    void ndArrayResultsAttachToTheManagerOfTheArgument(boolean copyTensors) throws IOException {
        try (ProcessPool pool = pool(copyTensors).build();
                NDManager base = NDManager.newBaseManager()) {
            NDArray doubled;
            List<List<NDArray>> pairs;
            try (NDManager step = base.newSubManager()) {
                NDArray a = step.create(new float[] {1, 2, 3});
                doubled = pool.apply((NDArray x) -> x.mul(2), a);
                pairs = pool.map((NDArray x) -> List.of(x.add(1), x.neg()), List.of(a, a.mul(10)));
                assertArrayEquals(new float[] {2, 4, 6}, doubled.toFloatArray());
                assertArrayEquals(new float[] {2, 3, 4}, pairs.get(0).get(0).toFloatArray());
                assertArrayEquals(new float[] {-10, -20, -30}, pairs.get(1).get(1).toFloatArray());
                assertTrue(isUnder(doubled.getManager(), step), "the result lives under the argument's manager");
                assertTrue(isUnder(pairs.get(1).get(0).getManager(), step), "so do NDArrays inside a result list");
                assertEquals(copyTensors ? 0 : 5, segmentsLeft(),
                        "stub results are zero-copy views of segments (copies own no segment)");
                doubled.addi(1); // a result is an ordinary, writable NDArray
                assertArrayEquals(new float[] {3, 5, 7}, doubled.toFloatArray());
            }
            assertTrue(doubled.isReleased(), "closing the argument's manager released the result");
            assertTrue(pairs.get(1).get(1).isReleased());
            assertEquals(0, segmentsLeft(), "closing the argument's manager freed the results' segments");
            assertEquals(7f, pool.apply((Integer x) -> x + 1f, 6), "the pool goes on working");
        }
    }

    @ParameterizedTest(name = "copyTensors={0}")
    @ValueSource(booleans = {false, true})
    void ndArrayResultsOfTasksWithoutAnNDArrayArgumentBelongToThePool(boolean copyTensors) throws IOException {
        NDArray range;
        try (ProcessPool pool = pool(copyTensors).build()) {
            range = pool.apply((Integer n) -> workerManager().arange(0f, n), 4);
            assertArrayEquals(new float[] {0, 1, 2, 3}, range.toFloatArray());
            assertEquals(copyTensors ? 0 : 1, segmentsLeft());
        }
        assertTrue(range.isReleased(), "closing the pool released the result");
        assertEquals(0, segmentsLeft(), "closing the pool freed the result's segment");
    }

    @Test
    void aSharedTensorThatRoundTripsComesBackOverTheSameMemory() {
        try (ProcessPool pool = pool().build();
                NDManager manager = NDManager.newBaseManager();
                SharedTensor tensor = SharedTensor.allocate(DType.FLOAT32, 3)) {
            NDArray view = tensor.toNDArray(manager);
            view.set(new ai.djl.ndarray.index.NDIndex(1), 5f);
            float sum = pool.apply((SharedTensor t) -> {
                try (t) {
                    return t.asByteBuffer().getFloat(4) + t.asByteBuffer().getFloat(0);
                }
            }, tensor);
            assertEquals(5f, sum, "the worker reads what the parent wrote through its DJL view");
        }
    }

    @Test
    void aWorkerThatDiesHoldingAStubLeavesNoSegmentBehind() throws IOException {
        try (ProcessPool pool = pool(false).build();
                NDManager manager = NDManager.newBaseManager()) {
            NDArray a = manager.create(new float[] {1, 2, 3});
            assertThrows(WorkerCrashedException.class, () -> pool.apply((NDArray x) -> {
                Runtime.getRuntime().halt(3); // the worker has mapped x's segment and took over its reference
                return 0f;
            }, a));
            assertEquals(0, segmentsLeft(), "the parent removed the segment the dead worker held");
            assertEquals(6f, pool.apply((NDArray x) -> x.sum().getFloat(), a), "the replacement worker runs");
        }
    }

    @Test
    void workersInheritTheSegmentDirectorySetAtRunTime() throws IOException {
        try (ProcessPool pool = ProcessPool.builder().optWorkers(1).build()) {
            assertEquals(shmDir.toString(), pool.apply(() -> System.getProperty(SHM_DIR_PROPERTY)));
        }
    }

    /** The number of files in {@code dir}, from a worker: the segments that exist while its task runs. */
    private static long filesIn(String dir) {
        try (Stream<Path> s = Files.list(Path.of(dir))) {
            return s.count();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The segments that exist while a worker runs a task on an INT8 array of {@code bytes} bytes. */
    private long segmentsWhileATaskHolds(ProcessPool pool, int bytes) {
        String dir = shmDir.toString();
        try (NDManager manager = NDManager.newBaseManager()) {
            return pool.apply((NDArray x) -> x.size() == bytes ? filesIn(dir) : -1L, manager.create(new byte[bytes]));
        }
    }

    @Test
    void argumentsUpToMaxNbytesTravelInlineAndLargerOnesByStub() {
        try (ProcessPool pool = pool().optMaxNbytes(1000).build()) {
            assertEquals(0, segmentsWhileATaskHolds(pool, 1000), "an argument of maxNbytes bytes travels inline");
            assertEquals(1, segmentsWhileATaskHolds(pool, 1001), "one byte more travels by stub");
        }
    }

    @Test
    void resultsUpToMaxNbytesTravelInlineAndLargerOnesByStub() throws IOException {
        try (ProcessPool pool = pool().optMaxNbytes(1000).build()) {
            NDArray inline = pool.apply((Integer n) -> workerManager().create(new byte[n]), 1000);
            assertEquals(1000, inline.size());
            assertEquals(0, segmentsLeft(), "a result of maxNbytes bytes came back inline");
            NDArray stub = pool.apply((Integer n) -> workerManager().create(new byte[n]), 1001);
            assertEquals(1001, stub.size());
            assertEquals(1, segmentsLeft(), "one byte more came back as a view of the worker's segment");
        }
    }

    @Test
    void theDefaultThresholdIsOneMebibyte() {
        try (ProcessPool pool = pool().build()) {
            assertEquals(0, segmentsWhileATaskHolds(pool, 1 << 20));
            assertEquals(1, segmentsWhileATaskHolds(pool, (1 << 20) + 1));
        }
    }

    @Test
    void copyTensorsForcesOneWayWhateverTheSize() {
        try (ProcessPool stubs = pool(false).build()) {
            assertEquals(1, segmentsWhileATaskHolds(stubs, 1), "optCopyTensors(false): even one byte by stub");
        }
        try (ProcessPool copies = pool(true).build()) {
            assertEquals(0, segmentsWhileATaskHolds(copies, (1 << 20) + 1), "optCopyTensors(true): 1 MiB + 1 inline");
        }
    }

    @Test
    void maxNbytesIsValidatedAndExcludesAForcedMode() {
        IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
                () -> ProcessPool.builder().optMaxNbytes(-1));
        assertTrue(negative.getMessage().startsWith("maxNbytes=-1 (expected >= 0"), negative.getMessage());
        IllegalArgumentException both = assertThrows(IllegalArgumentException.class,
                () -> ProcessPool.builder().optCopyTensors(true).optMaxNbytes(5).build());
        assertTrue(both.getMessage().contains("maxNbytes=5") && both.getMessage().contains("optCopyTensors(true)"),
                both.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> CtxPool.<String>builder().setWorkerContexts(List.of("a")).optMaxNbytes(5).optCopyTensors(false).build());
    }

    private static boolean isUnder(NDManager manager, NDManager ancestor) {
        for (NDManager m = manager; m != null; m = m.getParentManager()) {
            if (m == ancestor) {
                return true;
            }
        }
        return false;
    }
}
