package dev.tessera.sharedmem;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import dev.tessera.sharedmem.testing.ChildJvm;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** A child JVM writes through zero-copy views of a stub; the parent sees the writes. */
@Tag("integration")
@Timeout(120)
@ExtendWith(ShmLeakCheck.class)
class CrossJvmViewTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void childWritesThroughADjlViewAndTheParentSeesIt() throws Exception {
        try (SharedTensor t = SharedTensor.allocate(DType.FLOAT32, 2, 3)) {
            t.segment().set(ValueLayout.JAVA_FLOAT, 4, 1.5f); // before the child exists, so it reads this value
            try (ChildJvm child = ChildJvm.start(ShmLeakCheck.directory(), "djl-add", hex(t), "10")) {
                assertEquals(61.5f, Float.parseFloat(child.expect("DONE")), 1e-6);
                assertEquals(0, child.waitExit(), child.stderrText());
            }
            assertEquals(10f, t.segment().get(ValueLayout.JAVA_FLOAT, 0));
            assertEquals(11.5f, t.segment().get(ValueLayout.JAVA_FLOAT, 4));
        }
    }

    @Test
    void childWritesThroughAnNd4jViewAndTheParentSeesIt() throws Exception {
        try (SharedTensor t = SharedTensor.allocate(DType.FLOAT64, 4)) {
            for (int i = 0; i < 4; i++) {
                t.segment().setAtIndex(ValueLayout.JAVA_DOUBLE, i, i + 1);
            }
            try (ChildJvm child = ChildJvm.start(ShmLeakCheck.directory(), "nd4j-mul", hex(t), "3")) {
                assertEquals(30.0, Double.parseDouble(child.expect("DONE")), 1e-9);
                assertEquals(0, child.waitExit(), child.stderrText());
            }
            assertEquals(12.0, t.segment().getAtIndex(ValueLayout.JAVA_DOUBLE, 3));
        }
    }

    @Test
    void childDecodesAShareModeMessageAndReleasesTheHandedOffSegment() throws Exception {
        try (NDManager manager = NDManager.newBaseManager();
                ChildJvm child = ChildJvm.start(ShmLeakCheck.directory(), "decode-sum")) {
            TensorCodec codec = TensorCodec.builder().mode(TensorCodec.Mode.SHARE).build();
            byte[] message = codec.encode(List.of("batch-7", manager.arange(100f)));
            assertEquals(1, ShmLeakCheck.fileCount(), "the message's segment exists while it travels");
            child.send(HEX.formatHex(message));
            assertEquals("batch-7 4950.0", child.expect("SUM"));
            child.expect("CLOSED");
            assertEquals(0, child.waitExit(), child.stderrText());
            assertEquals(0, ShmLeakCheck.fileCount(), "the child's manager released the segment");
        }
    }

    @Test
    void aWorkerJvmOwnsItsStagedCopiesAndThePoolReusesTheirSegment() throws Exception {
        try (StagingPool pool = StagingPool.builder().build();
                SharedTensor source = SharedTensor.allocate(DType.INT64, 1024);
                ChildJvm child = ChildJvm.start(ShmLeakCheck.directory(), "decode-copies")) {
            TensorCodec codec = TensorCodec.builder().mode(TensorCodec.Mode.COPY).optStaging(pool).build();
            source.segment().set(ValueLayout.JAVA_LONG, 0, 42);
            child.send(HEX.formatHex(codec.encode(source)));
            String[] first = child.expect("WROTE").split(" ");
            assertEquals("42", first[0]);
            child.expect("CLOSED");
            assertEquals(42, source.segment().get(ValueLayout.JAVA_LONG, 0), "the worker wrote its own copy");

            source.segment().set(ValueLayout.JAVA_LONG, 0, 43);
            child.send(HEX.formatHex(codec.encode(source)));
            String[] second = child.expect("WROTE").split(" ");
            assertEquals("43", second[0], "a fresh copy, not the worker's earlier write");
            assertEquals(first[1], second[1], "the worker closed its copy, so the pool reused the segment");
            child.expect("CLOSED");
            child.send("");
            assertEquals(0, child.waitExit(), child.stderrText());
            assertEquals(2, ShmLeakCheck.fileCount(), "the source and the pool's segment");
        }
        assertEquals(0, ShmLeakCheck.fileCount());
    }

    private static String hex(SharedTensor t) {
        return HEX.formatHex(t.ref().toBytes());
    }
}
