package dev.tessera.queue.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.tessera.queue.SimpleQueue;
import dev.tessera.queue.internal.SlotRing;
import dev.tessera.sharedmem.SharedSegment;
import java.io.BufferedReader;
import java.io.DataOutputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/** The program that cross-JVM queue tests run in a child JVM; one command per run, results on stdout. */
public final class QueueChild {
    private static final BufferedReader STDIN =
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));

    private QueueChild() {}

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
            case "produce" -> produce(args[1], Integer.parseInt(args[2]), Integer.parseInt(args[3]),
                    Boolean.parseBoolean(args[4]));
            case "consume" -> consume(args[1], Path.of(args[2]));
            case "consume-print" -> consumePrint(args[1]);
            case "claim-write" -> claimWrite(args[1]);
            case "claim-read" -> claimRead(args[1]);
            case "create-and-wait" -> createAndWait();
            case "get-ndarray" -> getNdArray(args[1]);
            case "get-ndarrays" -> getNdArrays(args[1], Integer.parseInt(args[2]));
            case "put-lines" -> putLines(args[1]);
            case "take-lines" -> takeLines(args[1]);
            case "get-one" -> getOne(args[1]);
            default -> throw new IllegalArgumentException("unknown command " + args[0]);
        }
    }

    /** Puts {@code from .. from+count-1}; with {@code ack}, prints "ACK i" once each put returned. */
    private static void produce(String name, int from, int count, boolean ack) {
        try (SimpleQueue q = SimpleQueue.open(name)) {
            System.out.println("OPEN");
            System.out.flush();
            for (int i = from; i < from + count; i++) {
                q.put(i);
                if (ack) {
                    System.out.println("ACK " + i);
                }
            }
            System.out.println("DONE");
        }
    }

    /** Takes integers until it takes -1, then writes them to {@code out} and prints "DONE count". */
    private static void consume(String name, Path out) throws Exception {
        int[] got = new int[1024];
        int n = 0;
        try (SimpleQueue q = SimpleQueue.open(name)) {
            System.out.println("OPEN");
            System.out.flush();
            while (true) {
                int v = (Integer) q.get(Duration.ofSeconds(30));
                if (v == -1) {
                    break;
                }
                if (n == got.length) {
                    got = Arrays.copyOf(got, n * 2);
                }
                got[n++] = v;
            }
        }
        try (DataOutputStream o = new DataOutputStream(Files.newOutputStream(out))) {
            for (int i = 0; i < n; i++) {
                o.writeInt(got[i]);
            }
        }
        System.out.println("DONE " + n);
    }

    /** Takes integers for ever, printing "GOT i" after each get returned. */
    private static void consumePrint(String name) {
        try (SimpleQueue q = SimpleQueue.open(name)) {
            System.out.println("OPEN");
            while (true) {
                System.out.println("GOT " + q.get(Duration.ofSeconds(30)));
            }
        }
    }

    /** Claims a slot for writing, writes half a message, and then waits to be killed. */
    private static void claimWrite(String name) throws Exception {
        SharedSegment segment = SharedSegment.open(name);
        SlotRing ring = SlotRing.join(segment.data(), name);
        long pos = ring.tryClaimWrite();
        ring.payload(pos).fill((byte) 0x5A);
        System.out.println("CLAIMED " + pos);
        STDIN.readLine(); // the parent kills this process
    }

    /** Claims the message at the head for reading, and then waits to be killed without releasing it. */
    private static void claimRead(String name) throws Exception {
        SharedSegment segment = SharedSegment.open(name);
        SlotRing ring = SlotRing.join(segment.data(), name);
        long pos = ring.tryClaimRead();
        System.out.println("CLAIMED " + pos);
        STDIN.readLine();
    }

    /** Creates a queue, puts one message, prints its name and waits to be killed. */
    private static void createAndWait() throws Exception {
        SimpleQueue q = SimpleQueue.create(8);
        q.put("left behind");
        System.out.println("NAME " + q.name());
        STDIN.readLine();
    }

    /** Takes one message holding an NDArray and prints its shape and sum. */
    private static void getNdArray(String name) {
        try (NDManager manager = NDManager.newBaseManager();
                SimpleQueue q = SimpleQueue.builder().optManager(manager).open(name)) {
            NDArray a = (NDArray) q.get(Duration.ofSeconds(30));
            System.out.println("ARRAY " + a.getShape() + " " + a.sum().getFloat());
        }
    }

    /** Takes {@code count} NDArrays, prints "ARRAY size sum" for each, then releases them with its manager. */
    private static void getNdArrays(String name, int count) {
        try (NDManager manager = NDManager.newBaseManager();
                SimpleQueue q = SimpleQueue.builder().optManager(manager).open(name)) {
            for (int i = 0; i < count; i++) {
                NDArray a = (NDArray) q.get(Duration.ofSeconds(30));
                System.out.println("ARRAY " + a.size() + " " + a.toType(ai.djl.ndarray.types.DataType.INT32, false)
                        .sum().getLong());
            }
        }
    }

    /** Puts each line read from stdin, printing "PUT line" after each put returned, until stdin ends. */
    private static void putLines(String name) throws Exception {
        try (SimpleQueue q = SimpleQueue.open(name)) {
            System.out.println("OPEN");
            for (String line = STDIN.readLine(); line != null; line = STDIN.readLine()) {
                q.put(line);
                System.out.println("PUT " + line);
            }
        }
    }

    /** Takes one message for each line read from stdin and prints "GOT message", until stdin ends. */
    private static void takeLines(String name) throws Exception {
        try (SimpleQueue q = SimpleQueue.open(name)) {
            System.out.println("OPEN");
            for (String line = STDIN.readLine(); line != null; line = STDIN.readLine()) {
                System.out.println("GOT " + q.get(Duration.ofSeconds(30)));
            }
        }
    }

    /** Blocks in one get without spinning (so it sleeps at once), prints "GOT message"; tests kill it asleep. */
    private static void getOne(String name) {
        try (SimpleQueue q = SimpleQueue.builder().optSpinWait(Duration.ZERO).open(name)) {
            System.out.println("OPEN " + q.waitMode());
            System.out.println("GOT " + q.get(Duration.ofSeconds(60)));
        }
    }
}
