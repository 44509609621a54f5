package dev.tessera.sharedmem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.tessera.sharedmem.TensorCodec.Mode;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.io.ByteArrayInputStream;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Each attack on decoding that issue 10 found, as a regression test, and a fuzz loop over mutated messages. */
@ExtendWith(ShmLeakCheck.class)
class TensorCodecLimitsTest {
    private static final Duration BOUND = Duration.ofSeconds(20);
    private static final TensorCodec PLAIN = TensorCodec.builder().build();

    /** Decodes {@code message} expecting a {@link MalformedMessageException}, from a byte[] and a channel. */
    private static MalformedMessageException rejects(TensorCodec codec, byte[] message, NDManager manager) {
        MalformedMessageException fromArray = assertThrows(MalformedMessageException.class,
                () -> codec.decode(message, manager));
        assertThrows(MalformedMessageException.class,
                () -> codec.decode(Channels.newChannel(new ByteArrayInputStream(message)), manager));
        return fromArray;
    }

    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    private static long directBytes() {
        return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
    }

    @Test
    void a61ByteMessageDeclaringAHugeObjectArrayIsRefusedBeforeAllocating() {
        byte[] message = PLAIN.encode(new Object[0]);
        assertEquals(61, message.length);
        ByteBuffer.wrap(message).putInt(message.length - 4, 0x7FFFFFF0); // the array's declared length
        long before = allocatedBytes();
        MalformedMessageException e = assertTimeoutPreemptively(BOUND, () -> rejects(PLAIN, message, null));
        assertTrue(allocatedBytes() - before < (64L << 20), "no large allocation: " + (allocatedBytes() - before));
        assertEquals("maxArrayLength", e.limit(), e.getMessage());
        assertTrue(e.getMessage().contains("2147483632") && e.getMessage().contains("maxArrayLength=67108864"),
                e.getMessage());
        // without the length limit, the bytes that remain in the graph still bound it
        TensorCodec lenient = TensorCodec.builder().optMaxArrayLength(Integer.MAX_VALUE).build();
        MalformedMessageException bytes = rejects(lenient, message, null);
        assertNull(bytes.limit());
        assertTrue(bytes.getMessage().contains("array of 2147483632 elements"), bytes.getMessage());
        assertTrue(allocatedBytes() - before < (64L << 20), "no large allocation: " + (allocatedBytes() - before));
    }

    @Test
    void aCollectionDeclaringMoreElementsThanItsBytesIsRefused() {
        byte[] message = PLAIN.encode(new ArrayList<>(List.of(1, 2, 3)));
        int at = indexOf(message, new byte[] {0, 0, 0, 3}); // the first 3 is ArrayList's size field
        ByteBuffer.wrap(message).putInt(at, 50_000_000); // below maxArrayLength, far beyond the bytes
        MalformedMessageException e = rejects(PLAIN, message, null);
        assertTrue(e.getMessage().contains("50000000"), e.getMessage());
        // nCopies checks its length like an array but writes one element: a bounded allowance lets it through
        List<String> copies = java.util.Collections.nCopies(100_000, "x");
        assertEquals(copies, PLAIN.decode(PLAIN.encode(copies), null));
        assertThrows(MalformedMessageException.class,
                () -> PLAIN.decode(PLAIN.encode(java.util.Collections.nCopies(3_000_000, "x")), null));
    }

    @Test
    void a17ByteHeaderDeclaringA1GiBGraphAllocatesNothingLarge() {
        byte[] header = ByteBuffer.allocate(17).putInt(0x54534331).put((byte) 0).putLong(0).putInt(1 << 30).array();
        long before = allocatedBytes();
        MalformedMessageException byDefault = rejects(PLAIN, header, null);
        assertEquals("maxGraphBytes", byDefault.limit(), byDefault.getMessage());
        TensorCodec lenient = TensorCodec.builder().optMaxGraphBytes(Integer.MAX_VALUE).build();
        MalformedMessageException fromArray = assertThrows(MalformedMessageException.class,
                () -> lenient.decode(header, null));
        assertTrue(fromArray.getMessage().contains("0 bytes follow"), fromArray.getMessage());
        MalformedMessageException fromChannel = assertThrows(MalformedMessageException.class,
                () -> lenient.decode(Channels.newChannel(new ByteArrayInputStream(header)), null));
        assertTrue(fromChannel.getMessage().contains("truncated"), fromChannel.getMessage());
        long allocated = allocatedBytes() - before;
        assertTrue(allocated < (16L << 20), "the graph is read as it arrives, not reserved: " + allocated + " bytes");
    }

    @Test
    void a30ByteCopyMessageDeclaringAGiBTensorReservesNoDirectMemory() {
        try (NDManager m = NDManager.newBaseManager()) {
            byte[] one = PLAIN.encode(m.create(new float[] {1f}));
            assertEquals(17 + 13 + 4, one.length, "header, compact placeholder of rank 1, one float");
            byte[] message = Arrays.copyOf(one, 30);
            ByteBuffer.wrap(message).putLong(5, 1L << 30).putLong(22, 1L << 28); // tail bytes, the dimension
            long before = directBytes();
            MalformedMessageException e = assertThrows(MalformedMessageException.class, () -> PLAIN.decode(message, m));
            assertTrue(e.getMessage().contains("1073741824 tensor bytes"), e.getMessage());
            TensorCodec small = TensorCodec.builder().optMaxTensorBytes(1 << 20).build();
            MalformedMessageException limited = assertThrows(MalformedMessageException.class,
                    () -> small.decode(Channels.newChannel(new ByteArrayInputStream(message)), m));
            assertEquals("maxTensorBytes", limited.limit(), limited.getMessage());
            assertTrue(directBytes() - before < (1 << 20), "direct memory grew by " + (directBytes() - before));
        }
    }

    @Test
    void aTensorThatAChannelMessageDoesNotDeliverIsReleased() {
        try (NDManager sender = NDManager.newBaseManager(); NDManager receiver = NDManager.newBaseManager()) {
            byte[] message = PLAIN.encode(List.of(sender.ones(new Shape(1000))));
            byte[] cut = Arrays.copyOf(message, message.length - 10);
            MalformedMessageException e = assertThrows(MalformedMessageException.class,
                    () -> PLAIN.decode(Channels.newChannel(new ByteArrayInputStream(cut)), receiver));
            assertTrue(e.getMessage().contains("truncated"), e.getMessage());
            assertTrue(receiver.getManagedArrays().isEmpty(), "the array allocated for the missing bytes was closed");
        }
    }

    /** The "SerialDOS" graph: each level's two sets both hold the next level's two, so hashing doubles per level. */
    static Set<Object> nestedSets(int depth) {
        return dev.tessera.sharedmem.testing.HostileGraphs.nestedSets(depth);
    }

    @ParameterizedTest
    @ValueSource(ints = {10, 20, 25, 30, 35, 40})
    void nestedHashSetsCannotSpin(int depth) {
        byte[] message = PLAIN.encode(nestedSets(depth));
        assertTrue(message.length < 2_400, message.length + " bytes");
        assertTimeoutPreemptively(BOUND, () -> {
            try {
                assertInstanceOf(Set.class, PLAIN.decode(message, null));
                assertTrue(depth < 30, "about 2^" + (depth + 3) + " hash visits exceed the default budget");
            } catch (MalformedMessageException e) {
                assertEquals("maxHashWork", e.limit(), e.getMessage());
                assertTrue(depth > 10, "about 2^" + (depth + 3) + " visits are within the budget: " + e.getMessage());
            }
        });
    }

    @Test
    void backReferencesInsideAHashMapCountAsTheLargestCollection() {
        // one list of 100,000 strings referenced 5,000 times from a map: ~25 KB of back-references that, as keys
        // of a forged stream, would cost 5 * 10^8 hash visits; the guard cannot tell keys from values
        List<String> big = new ArrayList<>();
        for (int i = 0; i < 100_000; i++) {
            big.add(Integer.toString(i));
        }
        Map<Object, Object> map = new HashMap<>();
        for (int i = 0; i < 5_000; i++) {
            map.put(i, big); // the values are back-references to one list: a forged stream can make them keys
        }
        byte[] message = PLAIN.encode(List.of(big, map));
        MalformedMessageException e = assertTimeoutPreemptively(BOUND, () -> rejects(PLAIN, message, null));
        assertEquals("maxHashWork", e.limit(), e.getMessage());
        Object back = TensorCodec.builder().optMaxHashWork(Long.MAX_VALUE).build().decode(message, null);
        assertEquals(5_000, ((Map<?, ?>) ((List<?>) back).get(1)).size(), "a trusted sender may raise the limit");
    }

    @Test
    void depthAndReferenceLimitsNameThemselves() {
        List<Object> deep = new ArrayList<>();
        List<Object> cur = deep;
        for (int i = 0; i < 30; i++) {
            List<Object> next = new ArrayList<>();
            cur.add(next);
            cur = next;
        }
        byte[] message = PLAIN.encode(deep);
        assertEquals("maxDepth", rejects(TensorCodec.builder().optMaxDepth(10).build(), message, null).limit());
        byte[] many = PLAIN.encode(new ArrayList<>(java.util.Collections.nCopies(1000, "x")));
        MalformedMessageException e = rejects(TensorCodec.builder().optMaxReferences(100).build(), many, null);
        assertEquals("maxReferences", e.limit());
        assertTrue(e.getMessage().contains("maxReferences=100") && e.getMessage().contains("optMaxReferences"),
                e.getMessage());
    }

    @Test
    void aSharedTensorThatAForgedGraphDropsIsReleased() {
        try (SharedTensor shared = SharedTensor.allocate(DType.INT32, 4)) {
            byte[] message = TensorCodec.builder().mode(Mode.SHARE).build().encode(new ArrayList<>(List.of(shared)));
            int at = indexOf(message, "size".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            message[at + 1] = 'x'; // ArrayList's field is now "sxze": its size reads as 0 and the JDK skips the stub
            assertEquals(List.of(), PLAIN.decode(message, null));
            assertEquals(List.of(1L), SegmentReaper.list(ShmLeakCheck.directory()).stream()
                    .map(SegmentInfo::refCount).toList(), "the stub's reference was released, not left to the GC");
        }
    }

    @Test
    void builderRejectsNonPositiveLimits() {
        TensorCodec.Builder b = TensorCodec.builder();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.optMaxHashWork(0));
        assertEquals("maxHashWork=0 (expected > 0)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> b.optMaxArrayLength(-1));
        assertThrows(IllegalArgumentException.class, () -> b.optMaxReferences(0));
        assertThrows(IllegalArgumentException.class, () -> b.optMaxTensorBytes(-5));
        assertThrows(IllegalArgumentException.class, () -> b.optMaxGraphBytes(0));
        assertThrows(IllegalArgumentException.class, () -> b.optMaxDepth(0));
    }

    @Test
    void fuzzedMessagesOnlyEverThrowMalformedMessageException() {
        Random random = new Random(20261130);
        try (NDManager sender = NDManager.newBaseManager();
                SharedTensor shared = SharedTensor.allocate(DType.INT32, 2, 3)) {
            NDArray x = sender.arange(12f).reshape(3, 4);
            Map<String, Object> config = new LinkedHashMap<>(Map.of("lr", 0.01, "name", "run", "ids", List.of(1, 2, 3)));
            TensorCodec copy = TensorCodec.builder().mode(Mode.COPY).build();
            TensorCodec share = TensorCodec.builder().mode(Mode.SHARE).build();
            List<byte[]> valid = List.of(
                    copy.encode(new ArrayList<>(List.of("task", x, config, new HashSet<>(Set.of(1L, 2L))))),
                    copy.encode(x), // compact, tail bytes
                    copy.encode(List.of(shared, 7)), // a SharedTensor copied into a new segment
                    copy.encode(config), // no tensors
                    share.encode(shared), // compact stub
                    share.encode(new ArrayList<>(List.of(shared, Map.of("k", shared)))),
                    copy.encode(new Object[] {new int[] {1, 2}, "s", null, Map.of(1, List.of())}));
            int iterations = 3_000;
            int decoded = 0;
            for (int n = 0; n < iterations; n++) {
                int i = n;
                byte[] base = valid.get(random.nextInt(valid.size()));
                byte[] message = mutate(base, random);
                boolean viaChannel = random.nextBoolean();
                try (NDManager receiver = NDManager.newBaseManager()) {
                    Object result = viaChannel ? PLAIN.decode(Channels.newChannel(new ByteArrayInputStream(message)),
                            receiver) : PLAIN.decode(message, receiver);
                    closeSharedTensors(result);
                    decoded++;
                } catch (MalformedMessageException expected) {
                    // the one documented outcome of a bad message
                } catch (Throwable t) {
                    fail("iteration " + i + " (" + (viaChannel ? "channel" : "array") + ") threw " + t + " for "
                            + java.util.HexFormat.of().formatHex(message), t);
                }
                assertEquals(List.of(1L), SegmentReaper.list(ShmLeakCheck.directory()).stream()
                        .map(SegmentInfo::refCount).toList(), () -> "iteration " + i + " left a segment or a reference "
                        + "behind for " + java.util.HexFormat.of().formatHex(message) + " base " + java.util.HexFormat.of().formatHex(base));
            }
            assertTrue(decoded > 0 && decoded < iterations, "some mutations survive, most do not: " + decoded);
        }
    }

    /** One to three random edits: flipped bytes, an overwritten int, a cut, an inserted or removed run. */
    private static byte[] mutate(byte[] base, Random random) {
        byte[] m = base.clone();
        for (int edits = 1 + random.nextInt(3); edits > 0; edits--) {
            int at = random.nextInt(Math.max(1, m.length));
            if (m.length == 0) {
                return m;
            }
            switch (random.nextInt(5)) {
                case 0 -> m[at] ^= (byte) (1 << random.nextInt(8));
                case 1 -> m[at] = (byte) random.nextInt(256);
                case 2 -> {
                    if (at + 4 <= m.length) {
                        int[] values = {0, -1, 1, 0x7FFFFFF0, 1 << 30, 1 << 20, m.length, random.nextInt()};
                        ByteBuffer.wrap(m).putInt(at, values[random.nextInt(values.length)]);
                    }
                }
                case 3 -> m = Arrays.copyOf(m, at);
                default -> {
                    byte[] run = new byte[1 + random.nextInt(8)];
                    random.nextBytes(run);
                    byte[] grown = new byte[m.length + run.length];
                    System.arraycopy(m, 0, grown, 0, at);
                    System.arraycopy(run, 0, grown, at, run.length);
                    System.arraycopy(m, at, grown, at + run.length, m.length - at);
                    m = grown;
                }
            }
        }
        return m;
    }

    private static void closeSharedTensors(Object value) {
        if (value instanceof SharedTensor t) {
            t.close();
        } else if (value instanceof Iterable<?> it) {
            it.forEach(TensorCodecLimitsTest::closeSharedTensors);
        } else if (value instanceof Map<?, ?> map) {
            map.keySet().forEach(TensorCodecLimitsTest::closeSharedTensors);
            map.values().forEach(TensorCodecLimitsTest::closeSharedTensors);
        } else if (value instanceof Object[] array) {
            Arrays.stream(array).forEach(TensorCodecLimitsTest::closeSharedTensors);
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        throw new AssertionError("pattern not found");
    }
}
