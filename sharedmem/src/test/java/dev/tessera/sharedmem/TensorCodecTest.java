package dev.tessera.sharedmem;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.tessera.sharedmem.TensorCodec.Mode;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.io.ByteArrayOutputStream;
import java.io.Serializable;
import java.lang.foreign.ValueLayout;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

@ExtendWith(ShmLeakCheck.class)
class TensorCodecTest {
    record Task(String name, NDArray input, List<Object> extras) implements Serializable {}

    static final class Evil implements Serializable {}

    private static TensorCodec codec(Mode mode) {
        return TensorCodec.builder().mode(mode).allowPatterns("dev.tessera.sharedmem.TensorCodecTest$Task").build();
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void roundTripsTensorsAnywhereInAGraph(Mode mode) {
        try (NDManager sender = NDManager.newBaseManager();
                NDManager receiver = NDManager.newBaseManager();
                SharedTensor shared = SharedTensor.allocate(DType.INT64, 3)) {
            shared.segment().set(ValueLayout.JAVA_LONG, 8, 99);
            NDArray x = sender.arange(6f).reshape(2, 3);
            INDArray y = Nd4j.linspace(1, 4, 4).reshape(2, 2);
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("shared", shared);
            map.put("nd4j", y);
            Object[] array = {x, x, 7};
            List<Object> extras = new ArrayList<>(List.of("text", map, array));
            byte[] message = codec(mode).encode(new Task("t", x, extras));

            Task back = (Task) codec(mode).decode(message, receiver);
            assertArrayEquals(x.toFloatArray(), back.input().toFloatArray());
            assertArrayEquals(new long[] {2, 3}, back.input().getShape().getShape());
            Object[] backArray = (Object[]) back.extras().get(2);
            assertSame(back.input(), backArray[0], "one tensor referenced twice stays one object");
            assertSame(backArray[0], backArray[1]);
            @SuppressWarnings("unchecked")
            Map<String, Object> backMap = (Map<String, Object>) back.extras().get(1);
            assertEquals(y, backMap.get("nd4j"));
            try (SharedTensor backShared = (SharedTensor) backMap.get("shared")) {
                assertEquals(99, backShared.segment().get(ValueLayout.JAVA_LONG, 8));
                assertEquals(mode != Mode.COPY, backShared.ref().segmentName().equals(shared.ref().segmentName()),
                        "only COPY copies a SharedTensor; AUTO and SHARE send it by stub");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void roundTripsAnNDArrayAtTheTopLevelAndInsideLists(Mode mode) {
        TensorCodec plain = TensorCodec.builder().mode(mode).build();
        try (NDManager sender = NDManager.newBaseManager(); NDManager receiver = NDManager.newBaseManager()) {
            NDArray a = sender.create(new float[] {1, 2, 3});
            Object top = plain.decode(plain.encode(a), receiver);
            assertArrayEquals(new float[] {1, 2, 3}, assertInstanceOf(NDArray.class, top).toFloatArray());
            List<?> pair = (List<?>) plain.decode(plain.encode(List.of(a, a.mul(10))), receiver);
            assertArrayEquals(new float[] {10, 20, 30}, ((NDArray) pair.get(1)).toFloatArray());
            List<?> nested = (List<?>) plain.decode(plain.encode(List.of(List.of(a, a))), receiver);
            assertSame(((List<?>) nested.get(0)).get(0), ((List<?>) nested.get(0)).get(1));
        }
    }

    /**
     * A decoded copy is PyTorch's own memory, freed when the array closes, not a Java direct buffer that stays
     * allocated until a garbage collection (every decode touched fresh pages: 5 to 10 ms for 1 to 2 MiB).
     */
    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"COPY", "AUTO"})
    void decodedNDArrayCopiesLiveInPyTorchMemoryNotInJavaDirectBuffers(Mode mode) {
        TensorCodec copying = TensorCodec.builder().mode(mode).optCopyStubsOnDecode(true).build();
        java.lang.management.BufferPoolMXBean direct = java.lang.management.ManagementFactory
                .getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).findFirst().orElseThrow();
        long bytes = 4L << 20; // above AUTO's threshold: a stub, copied out while decoding
        try (NDManager sender = NDManager.newBaseManager(); NDManager receiver = NDManager.newBaseManager()) {
            NDArray x = sender.arange(0f, (float) (bytes / 4));
            byte[] message = copying.encode(x);
            long before = direct.getMemoryUsed();
            NDArray back = (NDArray) copying.decode(message, receiver);
            long grown = direct.getMemoryUsed() - before;
            assertTrue(grown < bytes / 2, "decoding a " + bytes + "-byte array took " + grown
                    + " bytes of Java direct memory");
            assertTrue(x.contentEquals(back));
            back.close();
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void aTopLevelTensorTravelsInCompactFormWithoutJavaSerialization(Mode mode) {
        try (SharedTensor t = SharedTensor.allocate(DType.INT32, 2, 3)) {
            t.segment().setAtIndex(ValueLayout.JAVA_INT, 5, 9);
            byte[] message = codec(mode).encode(t);
            assertEquals(0x01, message[17], "a compact graph; a Java stream would start with 0xAC");
            try (SharedTensor back = (SharedTensor) codec(mode).decode(message, null)) {
                assertEquals(9, back.segment().getAtIndex(ValueLayout.JAVA_INT, 5));
                assertArrayEquals(new long[] {2, 3}, back.shape());
            }
            byte[] corrupt = message.clone();
            corrupt[18] = 9; // no such placeholder type
            assertThrows(IllegalArgumentException.class, () -> codec(mode).decode(corrupt, null));
            byte[] truncatedGraph = java.util.Arrays.copyOf(message, 20);
            truncatedGraph[16] = 3; // graph length 3: cut inside the placeholder
            assertThrows(IllegalArgumentException.class, () -> codec(mode).decode(truncatedGraph, null));
        }
    }

    @Test
    void shareModeHandsItsSegmentToTheDecoderWhoseManagerReleasesIt() throws Exception {
        try (NDManager sender = NDManager.newBaseManager()) {
            NDArray x = sender.ones(new ai.djl.ndarray.types.Shape(1000));
            byte[] message = codec(Mode.SHARE).encode(List.of(x));
            assertTrue(message.length < 1000, "a stub, not the 4000 tensor bytes: " + message.length);
            assertEquals(1, ShmLeakCheck.fileCount(), "the segment travels with the message");
            NDManager receiver = NDManager.newBaseManager();
            NDArray back = (NDArray) ((List<?>) codec(Mode.SHARE).decode(message, receiver)).get(0);
            assertEquals(1000f, back.sum().getFloat());
            assertEquals(1, ShmLeakCheck.fileCount());
            receiver.close();
            assertEquals(0, ShmLeakCheck.fileCount(), "closing the receiving manager released the segment");
        }
    }

    @Test
    void shareModeReferencesTheCallersSharedTensorWithoutCopying() {
        try (SharedTensor mine = SharedTensor.allocate(DType.FLOAT32, 4)) {
            byte[] message = codec(Mode.SHARE).encode(mine);
            try (SharedTensor theirs = (SharedTensor) codec(Mode.SHARE).decode(message, null)) {
                theirs.segment().set(ValueLayout.JAVA_FLOAT, 0, 3f);
                assertEquals(3f, mine.segment().get(ValueLayout.JAVA_FLOAT, 0));
            }
            assertTrue(mine.isOpen());
        }
    }

    @Test
    void shareModeDecodesINDArraysAsOwnedCopiesAndReleasesTheSegment() {
        INDArray y = Nd4j.rand(3, 3);
        byte[] message = codec(Mode.SHARE).encode(y);
        INDArray back = (INDArray) codec(Mode.SHARE).decode(message, null);
        assertEquals(y, back);
        assertEquals(0, ShmLeakCheck.fileCount());
    }

    @Test
    void channelFormStreamsTheSameMessage() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.arange(10f);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            codec(Mode.COPY).encode(List.of(x, "after"), Channels.newChannel(out));
            assertArrayEquals(codec(Mode.COPY).encode(List.of(x, "after")), out.toByteArray());
            List<?> back = (List<?>) codec(Mode.COPY).decode(out.toByteArray(), m);
            assertArrayEquals(x.toFloatArray(), ((NDArray) back.get(0)).toFloatArray());
            assertEquals("after", back.get(1));
        }
    }

    record Holder(TensorRef ref, String note) implements Serializable {}

    @ParameterizedTest
    @EnumSource(Mode.class)
    void roundTripsTensorRefsInsideAGraph(Mode mode) {
        TensorCodec c = TensorCodec.builder().mode(mode).allowPatterns("dev.tessera.sharedmem.TensorCodecTest$Holder")
                .build();
        try (SharedTensor t = SharedTensor.allocate(DType.FLOAT32, 2, 2)) {
            t.segment().set(ValueLayout.JAVA_FLOAT, 4, 5f);
            TensorRef ref = t.ref();
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("ref", ref);
            List<Object> graph = new ArrayList<>(List.of(ref, map, new Holder(ref.asReadOnly(), "field"), List.of(ref)));
            List<?> back = (List<?>) c.decode(c.encode(graph), null);
            assertEquals(ref, back.get(0));
            assertEquals(ref, ((Map<?, ?>) back.get(1)).get("ref"));
            assertEquals(ref.asReadOnly(), ((Holder) back.get(2)).ref());
            assertEquals(List.of(ref), back.get(3));
            try (SharedTensor opened = ((TensorRef) back.get(0)).open()) {
                assertEquals(5f, opened.segment().get(ValueLayout.JAVA_FLOAT, 4), "the stub still names the segment");
            }
        }
    }

    @Test
    void rejectsClassesOutsideTheAllowList() {
        byte[] message = codec(Mode.COPY).encode(List.of(new Evil()));
        MalformedMessageException e = assertThrows(MalformedMessageException.class,
                () -> codec(Mode.COPY).decode(message, null));
        assertTrue(e.getMessage().contains("class dev.tessera.sharedmem.TensorCodecTest$Evil, which the allow-list "
                + "rejects") && e.getMessage().contains("allowPatterns("), e.getMessage());
        assertTrue(e.getMessage().contains("optAllowPatterns(\"dev.tessera.sharedmem.**\")"),
                "suggests the rejected class's own package tree: " + e.getMessage());
        assertEquals("class dev.tessera.sharedmem.TensorCodecTest$Evil", e.rejected());
        assertEquals("dev.tessera.sharedmem.**", e.allowPattern());
        Object ok = TensorCodec.builder().allowPatterns("dev.tessera.sharedmem.*").build().decode(message, null);
        assertInstanceOf(Evil.class, ((List<?>) ok).get(0));
    }

    @Test
    void failedDecodeReleasesEverythingItAlreadyOpened() {
        try (NDManager sender = NDManager.newBaseManager(); NDManager receiver = NDManager.newBaseManager()) {
            byte[] message = codec(Mode.SHARE).encode(new ArrayList<>(List.of(sender.ones(new ai.djl.ndarray.types.Shape(4)),
                    new Evil())));
            assertEquals(1, ShmLeakCheck.fileCount());
            assertThrows(IllegalArgumentException.class, () -> codec(Mode.SHARE).decode(message, receiver));
            assertEquals(0, ShmLeakCheck.fileCount(), "the stub opened before the rejected class was released");
        }
    }

    @Test
    void failedEncodeReleasesTheSegmentsItCreated() {
        try (NDManager m = NDManager.newBaseManager()) {
            List<Object> graph = new ArrayList<>(List.of(m.ones(new ai.djl.ndarray.types.Shape(4)), new Object()));
            assertThrows(IllegalArgumentException.class, () -> codec(Mode.SHARE).encode(graph));
            assertEquals(0, ShmLeakCheck.fileCount());
        }
    }

    @Test
    void ndArraysNeedAManagerAndGarbageIsRejected() {
        try (NDManager m = NDManager.newBaseManager()) {
            byte[] message = codec(Mode.COPY).encode(m.ones(new ai.djl.ndarray.types.Shape(2)));
            assertThrows(IllegalArgumentException.class, () -> codec(Mode.COPY).decode(message, null));
            assertThrows(IllegalArgumentException.class, () -> codec(Mode.COPY).decode(new byte[] {1, 2, 3}, m));
            byte[] truncated = java.util.Arrays.copyOf(message, message.length - 1);
            assertThrows(IllegalArgumentException.class, () -> codec(Mode.COPY).decode(truncated, m));
            byte[] lying = message.clone();
            lying[12]++; // tail length no longer matches the placeholders
            assertThrows(IllegalArgumentException.class, () -> codec(Mode.COPY).decode(lying, m));
        }
    }

    @Test
    void builderValidatesAllowPatterns() {
        for (String bad : new String[] {"!com.x.*", "a;b", "*", "**", " ", "maxdepth=5"}) {
            assertThrows(IllegalArgumentException.class, () -> TensorCodec.builder().allowPatterns(bad), bad);
        }
        TensorCodec c = TensorCodec.builder().optMode(Mode.SHARE).optAllowPatterns("com.example.**").build();
        assertEquals(Mode.SHARE, c.mode());
        assertEquals(List.of("com.example.**"), c.allowPatterns());
        assertNotEquals(c.toString(), "");
    }
}
