package dev.tessera.sharedmem.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.tessera.sharedmem.DType;
import dev.tessera.sharedmem.SharedSegment;
import dev.tessera.sharedmem.SharedTensor;
import dev.tessera.sharedmem.TensorCodec;
import dev.tessera.sharedmem.TensorRef;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The program that cross-JVM tests run in a child JVM; one command per run, results on stdout. */
public final class ChildMain {
    private static final HexFormat HEX = HexFormat.of();
    private static final BufferedReader STDIN =
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));

    private ChildMain() {}

    public static void main(String[] args) throws Exception {
        try {
            run(args);
        } catch (Throwable t) {
            System.out.println("ERROR " + t);
            t.printStackTrace();
            System.exit(1);
        }
        System.out.flush();
    }

    private static void run(String[] args) throws Exception {
        switch (args[0]) {
            case "djl-add" -> djlAdd(ref(args[1]), Float.parseFloat(args[2]));
            case "nd4j-mul" -> nd4jMul(ref(args[1]), Float.parseFloat(args[2]));
            case "create-and-hold" -> createAndHold(Long.parseLong(args[1]));
            case "hold" -> hold(ref(args[1]));
            case "create-persistent" -> createPersistent();
            case "named-create-and-hold" -> namedCreateAndHold(args[1]);
            case "named-open-add-and-hold" -> namedOpenAddAndHold(args[1], Long.parseLong(args[2]));
            case "refcount" -> refcount(args[1], Integer.parseInt(args[2]), Integer.parseInt(args[3]),
                    Integer.parseInt(args[4]));
            case "decode-sum" -> decodeSum();
            case "decode-copies" -> decodeCopies();
            case "store-visit" -> dev.tessera.sharedmem.store.StoreCommands.visit(args[1]);
            case "store-count" -> dev.tessera.sharedmem.store.StoreCommands.count(args[1], Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            case "store-crash-in-write" -> dev.tessera.sharedmem.store.StoreCommands.crashInWrite(args[1], args[2]);
            case "store-hold" -> dev.tessera.sharedmem.store.StoreCommands.hold(args[1], args[2]);
            case "store-create-and-hold" -> dev.tessera.sharedmem.store.StoreCommands.createAndHold(args[1]);
            default -> throw new IllegalArgumentException("unknown command " + args[0]);
        }
    }

    private static TensorRef ref(String hex) {
        return TensorRef.fromBytes(HEX.parseHex(hex));
    }

    private static void djlAdd(TensorRef ref, float value) {
        try (NDManager manager = NDManager.newBaseManager(); SharedTensor t = ref.open()) {
            NDArray view = t.toNDArray(manager);
            view.addi(value);
            System.out.println("DONE " + view.sum().getFloat());
        }
    }

    private static void nd4jMul(TensorRef ref, float value) {
        try (SharedTensor t = ref.open()) {
            INDArray view = t.toINDArray();
            view.muli(value);
            System.out.println("DONE " + view.sumNumber().doubleValue());
        }
    }

    private static void createAndHold(long elements) throws Exception {
        try (SharedTensor t = SharedTensor.allocate(DType.FLOAT32, elements)) {
            System.out.println("REF " + HEX.formatHex(t.ref().toBytes()));
            STDIN.readLine(); // the parent kills us before or releases us by closing stdin
        }
        System.out.println("RELEASED");
    }

    /** Creates the segment {@code name} (one long, 7), prints its file, and holds it until stdin closes. */
    private static void namedCreateAndHold(String name) throws Exception {
        try (SharedSegment s = SharedSegment.builder().setSize(Long.BYTES).optName(name).build()) {
            s.data().set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 7);
            System.out.println("CREATED " + s.path());
            STDIN.readLine();
        }
        System.out.println("RELEASED");
    }

    /** Opens the segment {@code name} by name, adds {@code delta} to its long, prints it, holds it until stdin closes. */
    private static void namedOpenAddAndHold(String name, long delta) throws Exception {
        try (SharedSegment s = SharedSegment.open(name)) {
            long now = (long) java.lang.foreign.ValueLayout.JAVA_LONG.varHandle().getAndAdd(s.data(), 0L, delta)
                    + delta;
            System.out.println("VALUE " + now + " " + s.path());
            STDIN.readLine();
        }
        System.out.println("RELEASED");
    }

    private static void createPersistent() {
        try (SharedTensor t = SharedTensor.builder().setDType(DType.INT8).setShape(16).optPersistent(true).build()) {
            System.out.println("REF " + HEX.formatHex(t.ref().toBytes()));
        }
    }

    private static void hold(TensorRef ref) throws Exception {
        try (SharedTensor t = ref.open()) {
            System.out.println("HOLDING " + t.byteSize());
            STDIN.readLine();
        }
        System.out.println("RELEASED");
    }

    /** {@code threads} threads each open and close {@code iterations} handles, then hold {@code held} each. */
    private static void refcount(String name, int threads, int iterations, int held) throws Exception {
        CyclicBarrier ready = new CyclicBarrier(threads + 1);
        CyclicBarrier release = new CyclicBarrier(threads + 1);
        List<Thread> workers = new ArrayList<>();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < threads; i++) {
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    RefCountWork.churnAndHold(name, iterations, held, ready, release);
                } catch (Throwable t) {
                    failures.add(t);
                }
            }));
        }
        ready.await();
        System.out.println("HOLDING");
        STDIN.readLine();
        release.await();
        for (Thread w : workers) {
            w.join();
        }
        if (!failures.isEmpty()) {
            throw new AssertionError("worker failed", failures.get(0));
        }
        System.out.println("DONE");
    }

    /** Reads a SHARE-mode message (hex on one stdin line), sums the NDArray, then closes the manager. */
    private static void decodeSum() throws Exception {
        byte[] message = HEX.parseHex(STDIN.readLine());
        TensorCodec codec = TensorCodec.builder().mode(TensorCodec.Mode.SHARE).build();
        try (NDManager manager = NDManager.newBaseManager()) {
            @SuppressWarnings("unchecked")
            List<Object> graph = (List<Object>) codec.decode(message, manager);
            NDArray array = (NDArray) graph.get(1);
            System.out.println("SUM " + graph.get(0) + " " + array.sum().getFloat());
        }
        System.out.println("CLOSED");
    }

    /** Decodes COPY messages (hex lines) into SharedTensors, overwrites their first long, closes them. */
    private static void decodeCopies() throws Exception {
        TensorCodec codec = TensorCodec.builder().build();
        for (String line = STDIN.readLine(); line != null && !line.isEmpty(); line = STDIN.readLine()) {
            try (SharedTensor t = (SharedTensor) codec.decode(HEX.parseHex(line), null)) {
                long before = t.segment().get(java.lang.foreign.ValueLayout.JAVA_LONG, 0);
                t.segment().set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, -1);
                System.out.println("WROTE " + before + " " + t.ref().segmentName());
            }
            System.out.println("CLOSED");
        }
    }

    /** Reads one line from the parent; the parent kills us before or releases us by closing stdin. */
    /** Blocks until the parent writes a line to this child's standard input. */
    public static void awaitParent() throws java.io.IOException {
        STDIN.readLine();
    }

    /** Shared with the in-process half of the refcount test. */
    public static final class RefCountWork {
        private RefCountWork() {}

        public static void churnAndHold(String name, int iterations, int held, CyclicBarrier ready,
                CyclicBarrier release) throws Exception {
            for (int i = 0; i < iterations; i++) {
                SharedSegment.open(name).close();
            }
            List<SharedSegment> handles = new ArrayList<>();
            for (int i = 0; i < held; i++) {
                handles.add(SharedSegment.open(name));
            }
            ready.await();
            release.await();
            handles.forEach(SharedSegment::close);
        }
    }
}
