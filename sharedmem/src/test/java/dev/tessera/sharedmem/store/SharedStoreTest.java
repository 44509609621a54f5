package dev.tessera.sharedmem.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.sharedmem.DType;
import dev.tessera.sharedmem.SegmentInfo;
import dev.tessera.sharedmem.SegmentReaper;
import dev.tessera.sharedmem.SharedTensor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.io.Serializable;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

@ExtendWith(ShmLeakCheck.class)
@Timeout(120)
class SharedStoreTest {
    record Config(String name, double rate) implements Serializable {}

    @Test
    void storesTensorsAndSerializableValuesAndReadsThemBackInEveryForm() {
        try (SharedStore store = SharedStore.open("values");
                NDManager manager = NDManager.newBaseManager()) {
            store.put("nd", manager.arange(6f).reshape(2, 3));
            store.put("nd4j", Nd4j.linspace(1, 4, 4).reshape(2, 2));
            store.put("small", 42);
            store.put("big", "x".repeat(10_000)); // too big for the index entry: a segment of its own
            try (SharedTensor t = SharedTensor.allocate(DType.INT64, 3)) {
                t.segment().setAtIndex(ValueLayout.JAVA_LONG, 2, 7);
                store.put("shared", t);
                t.segment().setAtIndex(ValueLayout.JAVA_LONG, 2, 8);
            }

            NDArray nd = store.getNDArray("nd", manager);
            assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, nd.toFloatArray());
            assertArrayEquals(new long[] {2, 3}, nd.getShape().getShape());
            assertEquals(Nd4j.linspace(1, 4, 4).reshape(2, 2), store.get("nd4j", INDArray.class));
            try (SharedTensor t = store.getTensor("nd4j")) {
                assertEquals(DType.FLOAT32, t.dtype());
                assertTrue(t.isReadOnly());
            }
            assertEquals(42, store.get("small", Integer.class));
            assertEquals(10_000, store.get("big", String.class).length());
            try (SharedTensor shared = (SharedTensor) store.get("shared")) {
                assertEquals(7, shared.segment().getAtIndex(ValueLayout.JAVA_LONG, 2), "put copied the tensor");
                assertThrows(IllegalArgumentException.class,
                        () -> shared.segment().setAtIndex(ValueLayout.JAVA_LONG, 0, 1), "values are read-only");
            }
            assertEquals(Set.of("big", "nd", "nd4j", "shared", "small"), store.keys());
            assertEquals(5, store.size());
            assertTrue(store.containsKey("nd"));
        }
    }

    @Test
    void missingKeysGiveNullFalseOrNoSuchElement() {
        try (SharedStore store = SharedStore.open("missing")) {
            assertNull(store.get("nope"));
            assertNull(store.getTensor("nope"));
            assertFalse(store.remove("nope"));
            assertFalse(store.containsKey("nope"));
            NoSuchElementException e = assertThrows(NoSuchElementException.class,
                    () -> store.update("nope", Integer.class, n -> n + 1));
            assertTrue(e.getMessage().contains("'nope'") && e.getMessage().contains("'missing'"), e.getMessage());
        }
    }

    @Test
    void rejectsBadKeysAndNamesNamingTheLimit() {
        try (SharedStore store = SharedStore.open("keys")) {
            assertTrue(assertThrows(IllegalArgumentException.class, () -> store.put("", 1)).getMessage()
                    .contains("empty"));
            String tooLong = "k".repeat(SharedStore.MAX_KEY_BYTES + 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> store.put(tooLong, 1));
            assertTrue(e.getMessage().contains("129 bytes") && e.getMessage().contains("limit is 128"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> store.get("\uD800"));
            assertThrows(NullPointerException.class, () -> store.put(null, 1));
            assertThrows(NullPointerException.class, () -> store.put("k", null));
            store.put("k".repeat(SharedStore.MAX_KEY_BYTES), 1); // exactly the limit is fine
            store.put("ключ", 2); // multi-byte UTF-8
            assertEquals(2, store.get("ключ", Integer.class));
        }
        for (String bad : new String[] {"", ".hidden", "a/b", "x".repeat(33), "tab\t"}) {
            assertThrows(IllegalArgumentException.class, () -> SharedStore.builder().setName(bad), bad);
        }
    }

    @Test
    void wrongTypeIsAClassCastExceptionNamingBothTypes() {
        try (SharedStore store = SharedStore.open("types"); NDManager manager = NDManager.newBaseManager()) {
            store.put("n", 1);
            store.put("t", manager.ones(new Shape(2)));
            ClassCastException e = assertThrows(ClassCastException.class, () -> store.get("n", String.class));
            assertTrue(e.getMessage().contains("java.lang.Integer") && e.getMessage().contains("java.lang.String"),
                    e.getMessage());
            e = assertThrows(ClassCastException.class, () -> store.get("t", Integer.class));
            assertTrue(e.getMessage().contains("FLOAT32[2] tensor"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> store.get("t", NDArray.class),
                    "an NDArray needs a manager");
            assertThrows(IllegalArgumentException.class, () -> store.put("o", new Object()), "not Serializable");
        }
    }

    @Test
    void objectValuesDecodeBehindTheAllowList() {
        try (SharedStore store = SharedStore.open("allow")) {
            store.put("cfg", new Config("a", 0.5));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> store.get("cfg"));
            assertTrue(e.getMessage().contains("allow-list") && e.getMessage().contains("Config"), e.getMessage());
        }
        try (SharedStore store = SharedStore.builder().setName("allow")
                .optAllowPatterns("dev.tessera.sharedmem.store.SharedStoreTest$Config").build()) {
            store.put("cfg", new Config("a", 0.5));
            assertEquals(new Config("a", 0.5), store.get("cfg", Config.class));
        }
    }

    @Test
    void fullIndexIsAStoreFullExceptionButReplacingAndRemovingStillWork() {
        try (SharedStore store = SharedStore.builder().setName("full").optCapacity(3).build()) {
            store.put("a", 1);
            store.put("b", 2);
            store.put("c", 3);
            StoreFullException e = assertThrows(StoreFullException.class, () -> store.put("d", 4));
            assertTrue(e.getMessage().contains("all 3 entries") && e.getMessage().contains("'d'"), e.getMessage());
            assertEquals(3, e.capacity());
            store.put("a", 10);
            assertEquals(10, store.get("a", Integer.class));
            assertTrue(store.remove("b"));
            store.put("d", 4);
            assertEquals(Set.of("a", "c", "d"), store.keys());
        }
    }

    @Test
    void behavesLikeAMapUnderRandomPutsRemovesAndUpdatesInASmallTable() {
        Map<String, Integer> model = new HashMap<>();
        Random random = new Random(42);
        try (SharedStore store = SharedStore.builder().setName("model").optCapacity(16).build()) {
            for (int i = 0; i < 3_000; i++) {
                String key = "k" + random.nextInt(24);
                switch (random.nextInt(4)) {
                    case 0, 1 -> {
                        if (model.containsKey(key) || model.size() < 16) {
                            store.put(key, i);
                            model.put(key, i);
                        } else {
                            assertThrows(StoreFullException.class, () -> store.put(key, 0));
                        }
                    }
                    case 2 -> assertEquals(model.remove(key) != null, store.remove(key));
                    default -> {
                        if (model.containsKey(key)) {
                            Integer updated = store.update(key, Integer.class, n -> n + 1);
                            assertEquals(model.get(key) + 1, updated);
                            model.merge(key, 1, Integer::sum);
                        }
                    }
                }
                assertEquals(model.get(key), store.get(key, Integer.class), "after step " + i);
            }
            assertEquals(model.keySet(), store.keys());
            for (Map.Entry<String, Integer> e : model.entrySet()) {
                assertEquals(e.getValue(), store.get(e.getKey(), Integer.class));
            }
        }
    }

    @Test
    void aReplacedOrRemovedValueStaysReadableUntilItsReaderClosesIt() {
        try (SharedStore store = SharedStore.open("versions")) {
            try (SharedTensor v1 = SharedTensor.allocate(DType.INT32, 1024)) {
                v1.segment().fill((byte) 1);
                store.put("w", v1);
            }
            assertEquals(2, ShmLeakCheck.fileCount(), "the index and one value");
            SharedTensor held = store.getTensor("w");
            try (SharedTensor v2 = SharedTensor.allocate(DType.INT32, 1024)) {
                v2.segment().fill((byte) 2);
                store.put("w", v2);
            }
            assertEquals(3, ShmLeakCheck.fileCount(), "the replaced value lives while it is read");
            assertEquals(-1, held.segment().mismatch(java.lang.foreign.MemorySegment.ofArray(filled(4096, 1))),
                    "the reader still sees the old value, intact");
            try (SharedTensor now = store.getTensor("w")) {
                assertEquals(2, now.segment().get(ValueLayout.JAVA_BYTE, 0));
            }
            held.close();
            assertEquals(2, ShmLeakCheck.fileCount(), "its last reader closed it, so it is gone");
            SharedTensor again = store.getTensor("w");
            assertTrue(store.remove("w"));
            assertEquals(2, ShmLeakCheck.fileCount());
            assertEquals(2, again.segment().get(ValueLayout.JAVA_BYTE, 4095));
            again.close();
            assertEquals(1, ShmLeakCheck.fileCount());
        }
        assertEquals(0, ShmLeakCheck.fileCount(), "the last close removed the store");
    }

    @Test
    void lastCloseRemovesTheStoreAndEveryValueWhileOtherHandlesKeepItAlive() {
        try (NDManager manager = NDManager.newBaseManager()) {
            SharedStore first = SharedStore.open("lifetime");
            first.put("t", manager.ones(new Shape(100)));
            first.put("s", "y".repeat(1000));
            try (SharedStore second = SharedStore.open("lifetime")) {
                first.close();
                first.close();
                assertEquals(1000, second.get("s", String.class).length(), "the second handle keeps it");
                assertThrows(IllegalStateException.class, () -> first.get("s"));
            }
            assertEquals(0, ShmLeakCheck.fileCount());
            try (SharedStore fresh = SharedStore.open("lifetime")) {
                assertEquals(Set.of(), fresh.keys(), "a new store of the same name starts empty");
            }
        }
    }

    @Test
    void optCreateFalseRefusesAMissingStore() {
        assertThrows(NoSuchElementException.class,
                () -> SharedStore.builder().setName("absent").optCreate(false).build());
        assertEquals(0, ShmLeakCheck.fileCount());
    }

    @Test
    void updatesFromManyThreadsComposeAndReadersNeverSeeATornTensor() throws Exception {
        int threads = 4;
        int increments = 200;
        try (SharedStore store = SharedStore.open("threads")) {
            store.put("counter", 0);
            try (SharedTensor initial = filledTensor(0)) {
                store.put("tensor", initial);
            }
            CyclicBarrier start = new CyclicBarrier(threads + 2); // the writers, the reader and this thread
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> workers = new ArrayList<>();
            for (int w = 0; w < threads; w++) {
                workers.add(Thread.ofPlatform().start(() -> {
                    try {
                        start.await();
                        for (int i = 0; i < increments; i++) {
                            store.update("counter", Integer.class, n -> n + 1);
                        }
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                }));
            }
            Thread reader = Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                    for (int i = 0; i < 300; i++) {
                        try (SharedTensor t = store.getTensor("tensor")) {
                            int first = t.segment().getAtIndex(ValueLayout.JAVA_INT, 0);
                            for (long j = 0; j < t.elementCount(); j++) {
                                assertEquals(first, t.segment().getAtIndex(ValueLayout.JAVA_INT, j));
                            }
                        }
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            });
            start.await();
            for (int i = 1; i <= 100; i++) {
                int value = i;
                // the store copies the function's result; the caller still owns (and closes) it
                try (SharedTensor ignored = store.update("tensor", SharedTensor.class, old -> filledTensor(value))) {
                    assertTrue(ignored.isOpen());
                }
            }
            for (Thread t : workers) {
                t.join();
            }
            reader.join();
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertEquals(threads * increments, store.get("counter", Integer.class));
            assertEquals(2, store.size());
        }
    }

    @Test
    void tensorsInsideSerializableValuesTravelToo() {
        try (SharedStore store = SharedStore.open("graphs"); NDManager manager = NDManager.newBaseManager()) {
            store.put("pair", new ArrayList<>(List.of("label", manager.create(new float[] {1, 2, 3}))));
            List<?> back = store.get("pair", List.class, manager);
            assertEquals("label", back.get(0));
            assertArrayEquals(new float[] {1, 2, 3}, assertInstanceOf(NDArray.class, back.get(1)).toFloatArray());
        }
    }

    @Test
    void closedHandleRejectsEveryCall() {
        SharedStore store = SharedStore.open("closed");
        store.close();
        assertFalse(store.isOpen());
        assertThrows(IllegalStateException.class, () -> store.put("a", 1));
        assertThrows(IllegalStateException.class, store::keys);
        assertThrows(IllegalStateException.class, () -> store.get("a"));
    }

    @Test
    void persistentStoreIsListedByTheReaperAndKeptWhileItsCreatorLives() {
        try (SharedStore store = SharedStore.builder().setName("kept").optPersistent(true).build()) {
            store.put("v", "z".repeat(500));
        }
        List<SegmentInfo> infos = SegmentReaper.list(ShmLeakCheck.directory());
        assertEquals(2, infos.size(), infos.toString());
        SegmentInfo index = infos.getFirst();
        assertEquals(SegmentInfo.Kind.STORE, index.kind());
        assertEquals("kept", index.store());
        assertEquals("tessera-store-" + dev.tessera.sharedmem.internal.FileTrust.selfUid() + "-kept", index.name());
        assertEquals(SegmentInfo.Kind.STORE_VALUE, infos.get(1).kind());
        assertTrue(infos.get(1).heldByStore());
        assertEquals(List.of(), SegmentReaper.reap(ShmLeakCheck.directory()), "its creator (this JVM) lives");
        try (SharedStore again = SharedStore.builder().setName("kept").optCreate(false).build()) {
            assertEquals(500, again.get("v", String.class).length());
            assertTrue(again.isPersistent());
            assertTrue(again.remove("v"));
        }
        assertEquals(1, ShmLeakCheck.fileCount(), "the removed value is gone, the persistent index stays");
        // a persistent store outlives this test's JVM only by design; remove it for the leak check
        Path indexFile = index.path();
        assertTrue(indexFile.toFile().delete());
    }

    private static SharedTensor filledTensor(int value) {
        SharedTensor t = SharedTensor.allocate(DType.INT32, 4096);
        for (long j = 0; j < t.elementCount(); j++) {
            t.segment().setAtIndex(ValueLayout.JAVA_INT, j, value);
        }
        return t;
    }

    private static byte[] filled(int n, int value) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) value);
        return b;
    }
}
