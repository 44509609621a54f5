package dev.tessera.sharedmem.store;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.tessera.sharedmem.SharedSegment;
import dev.tessera.sharedmem.SharedTensor;
import dev.tessera.sharedmem.internal.SegmentDescriptor;
import dev.tessera.sharedmem.internal.SegmentFiles;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;

/** The {@code store-*} commands of {@link ChildMain}: what a second process does with a {@link SharedStore}. */
public final class StoreCommands {
    private StoreCommands() {}

    /** Reads what the parent put, then adds a key and bumps a counter. */
    public static void visit(String name) throws Exception {
        try (SharedStore store = SharedStore.builder().setName(name).optCreate(false).build();
                NDManager manager = NDManager.newBaseManager()) {
            NDArray w = store.getNDArray("w", manager);
            System.out.println("SUM " + w.sum().getFloat() + " " + store.get("label", String.class));
            store.put("fromChild", manager.ones(new Shape(3)).mul(5));
            store.update("visits", Integer.class, n -> n + 1);
            System.out.println("KEYS " + String.join(",", store.keys()));
        }
    }

    /** {@code threads} threads each increment "counter" {@code increments} times and put one key of their own. */
    public static void count(String name, int threads, int increments) throws Exception {
        try (SharedStore store = SharedStore.builder().setName(name).optCreate(false).build()) {
            CyclicBarrier start = new CyclicBarrier(threads + 1);
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Thread> workers = StoreCounters.start(store, "child", threads, increments, start, failures);
            System.out.println("READY");
            dev.tessera.sharedmem.testing.ChildMain.awaitParent(); // the parent says go, so both JVMs start together
            start.await();
            for (Thread w : workers) {
                w.join();
            }
            if (!failures.isEmpty()) {
                throw new AssertionError("worker failed", failures.getFirst());
            }
            System.out.println("DONE");
        }
    }

    /**
     * Opens the store, then takes its lock and announces the removal of {@code key} exactly as a writer does
     * before applying it, and waits to be killed: the state a writer leaves when it dies mid-change.
     */
    public static void crashInWrite(String name, String key) throws Exception {
        SharedStore store = SharedStore.builder().setName(name).optCreate(false).build();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment mapping = SegmentFiles.mapExisting(SharedSegment.defaultDirectory()
                    .resolve(StoreFiles.fileName(name)), arena, dev.tessera.sharedmem.internal.FileTrust.OWN).segment();
            StoreIndex index = new StoreIndex(mapping.asSlice(SegmentDescriptor.HEADER_LENGTH), name, 10_000_000_000L);
            byte[] k = key.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            index.lock();
            long slot = index.probe(k, StoreIndex.hash(k)).found();
            index.announceForTest(slot, StoreIndex.tombstoneImage(), index.live() - 1, index.tombstones() + 1);
            System.out.println("LOCKED " + index.lockHolderPid());
            dev.tessera.sharedmem.testing.ChildMain.awaitParent();
        }
        store.close();
    }

    /** Gets a tensor from the store and holds it. */
    public static void hold(String name, String key) throws Exception {
        try (SharedStore store = SharedStore.builder().setName(name).optCreate(false).build();
                SharedTensor t = store.getTensor(key)) {
            System.out.println("HOLDING " + t.byteSize());
            dev.tessera.sharedmem.testing.ChildMain.awaitParent();
        }
    }

    /** Creates a store with a tensor and a large object in it, and holds it. */
    public static void createAndHold(String name) throws Exception {
        try (SharedStore store = SharedStore.open(name); NDManager manager = NDManager.newBaseManager()) {
            store.put("t", manager.ones(new Shape(1000)));
            store.put("s", "v".repeat(5000));
            store.put("i", 1);
            System.out.println("READY");
            dev.tessera.sharedmem.testing.ChildMain.awaitParent();
        }
    }
}
