package dev.tessera.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.tessera.queue.testing.QueueChild;
import dev.tessera.sharedmem.testing.ChildJvm;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import dev.tessera.sharedmem.SegmentReaper;
import java.io.DataInputStream;
import java.io.EOFException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Producers and consumers in real child JVMs, some killed with SIGKILL mid-stream. */
@Tag("integration")
@ExtendWith(ShmLeakCheck.class)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class CrossJvmQueueTest {

    @Test
    void twoProducerAndTwoConsumerJvmsDeliverEachMessageExactlyOnce() throws Exception {
        int each = 20_000;
        Path dir = ShmLeakCheck.directory();
        Path out0 = Files.createTempFile("queue-consumer-", ".bin");
        Path out1 = Files.createTempFile("queue-consumer-", ".bin");
        try (SimpleQueue q = SimpleQueue.create(64);
                ChildJvm c0 = child(dir, "consume", q.name(), out0.toString());
                ChildJvm c1 = child(dir, "consume", q.name(), out1.toString());
                ChildJvm p0 = child(dir, "produce", q.name(), "0", Integer.toString(each), "false");
                ChildJvm p1 = child(dir, "produce", q.name(), Integer.toString(each),
                        Integer.toString(each), "false")) {
            p0.expect("DONE");
            p1.expect("DONE");
            q.put(-1);
            q.put(-1);
            int n0 = Integer.parseInt(c0.expect("DONE"));
            int n1 = Integer.parseInt(c1.expect("DONE"));
            assertEquals(2 * each, n0 + n1);
            assertTrue(n0 > 0 && n1 > 0, "both consumers took messages: " + n0 + ", " + n1);
            BitSet seen = new BitSet();
            for (Path out : List.of(out0, out1)) {
                for (int v : readInts(out)) {
                    assertFalse(seen.get(v), "delivered twice: " + v);
                    seen.set(v);
                }
            }
            assertEquals(2 * each, seen.cardinality());
            assertEquals(2 * each, seen.nextClearBit(0));
            assertEquals(0, q.size());
        } finally {
            Files.deleteIfExists(out0);
            Files.deleteIfExists(out1);
        }
    }

    @Test
    void killedProducerLosesNothingAcknowledgedAndTheQueueGoesOn() throws Exception {
        try (SimpleQueue q = SimpleQueue.create(32);
                ChildJvm producer = child(ShmLeakCheck.directory(), "produce", q.name(), "0",
                        "100000000", "true")) {
            producer.expect("OPEN");
            BitSet got = new BitSet();
            CompletableFuture<Void> consumer = CompletableFuture.runAsync(() -> drainInto(q, got, 2_000));
            int lastAck = -1;
            while (lastAck < 3_000) {
                lastAck = Integer.parseInt(producer.expect("ACK"));
            }
            producer.kill9();
            consumer.get(60, TimeUnit.SECONDS); // ends after 2 s without a message
            for (int i = 0; i <= lastAck; i++) {
                assertTrue(got.get(i), "acknowledged message " + i + " was lost");
            }
            int highest = got.length() - 1;
            assertEquals(highest + 1, got.cardinality(), "every message up to the last delivered one arrived");
            assertEquals(0, q.size());
            for (int round = 0; round < 3 * q.capacity(); round++) {
                q.put(round);
                assertEquals(round, q.get(Duration.ofSeconds(5)));
            }
        }
    }

    @Test
    void killedConsumerLeavesEverythingElseToTheOthers() throws Exception {
        int total = 20_000;
        try (SimpleQueue q = SimpleQueue.create(32);
                ChildJvm consumer = child(ShmLeakCheck.directory(), "consume-print", q.name())) {
            consumer.expect("OPEN");
            CompletableFuture<Void> producer = CompletableFuture.runAsync(() -> {
                for (int i = 0; i < total; i++) {
                    q.put(i);
                }
            });
            BitSet printed = new BitSet();
            int last = -1;
            while (last < 3_000) {
                last = Integer.parseInt(consumer.expect("GOT"));
                printed.set(last);
            }
            consumer.kill9KeepingOutput();
            BitSet drained = new BitSet();
            drainInto(q, drained, 2_000);
            producer.get(30, TimeUnit.SECONDS);
            drainInto(q, drained, 200);
            // the child printed in order; after its last line it can have taken at most one more message
            int lastPrinted = printed.length() - 1;
            String rest = consumerLines(consumer);
            for (String line : rest.lines().toList()) {
                printed.set(Integer.parseInt(line.substring(4)));
            }
            BitSet both = (BitSet) printed.clone();
            both.and(drained);
            assertTrue(both.cardinality() <= 1, "only a message the consumer died holding may come twice: " + both);
            BitSet all = (BitSet) printed.clone();
            all.or(drained);
            int missing = total - all.cardinality();
            assertTrue(missing <= 1, missing + " messages missing");
            if (missing == 1) {
                assertEquals(printed.length(), all.nextClearBit(0),
                        "the one unaccounted message is the one the killed consumer took after its last line "
                                + lastPrinted);
            }
        }
    }

    @Test
    void halfWrittenMessageOfAKilledProducerIsSkipped() throws Exception {
        try (SimpleQueue q = SimpleQueue.create(4)) {
            q.put("before");
            try (ChildJvm child = child(ShmLeakCheck.directory(), "claim-write", q.name())) {
                assertEquals("1", child.expect("CLAIMED"));
                q.put("after");
                assertEquals("before", q.get(Duration.ofSeconds(5)));
                assertNull(q.poll(), "the slot at the head is still claimed by a live producer");
                child.kill9();
                assertEquals("after", q.get(Duration.ofSeconds(5)));
                assertEquals(0, q.size());
            }
        }
    }

    @Test
    void messageHeldByAKilledConsumerIsDeliveredToAnother() throws Exception {
        try (SimpleQueue q = SimpleQueue.create(4)) {
            q.put("held");
            q.put("next");
            try (ChildJvm child = child(ShmLeakCheck.directory(), "claim-read", q.name())) {
                assertEquals("0", child.expect("CLAIMED"));
                assertEquals("next", q.get(Duration.ofSeconds(5)));
                child.kill9();
                assertEquals("held", q.get(Duration.ofSeconds(5)));
                assertNull(q.poll());
                for (int i = 0; i < 3 * q.capacity(); i++) { // the returned slot is usable again
                    q.put(i);
                    assertEquals(i, q.get(Duration.ofSeconds(5)));
                }
            }
        }
    }

    @Test
    void queueFullOfAKilledConsumersClaimsRecoversForTheProducer() throws Exception {
        try (SimpleQueue q = SimpleQueue.create(1)) {
            q.put("held");
            try (ChildJvm child = child(ShmLeakCheck.directory(), "claim-read", q.name())) {
                child.expect("CLAIMED");
                assertFalse(q.offer("blocked"), "the dead-to-be consumer's slot is still taken");
                child.kill9();
                assertEquals("held", q.get(Duration.ofSeconds(5)));
                assertTrue(q.offer("free again", Duration.ofSeconds(5)));
                assertEquals("free again", q.get(Duration.ofSeconds(5)));
            }
        }
    }

    @Test
    void ndArrayStubCrossesToAnotherJvm() throws Exception {
        try (NDManager manager = NDManager.newBaseManager();
                SimpleQueue q = SimpleQueue.create(2);
                ChildJvm child = child(ShmLeakCheck.directory(), "get-ndarray", q.name())) {
            NDArray a = manager.arange(0f, 1000f).reshape(10, 100);
            q.put(a);
            assertEquals("(10, 100) 499500.0", child.expect("ARRAY"));
            assertEquals(0, child.waitExit());
        }
    }

    @Test
    void arraysOnBothSidesOfMaxNbytesCrossToAnotherJvm() throws Exception {
        try (NDManager manager = NDManager.newBaseManager();
                SimpleQueue q = SimpleQueue.builder().optMaxNbytes(1000).create()) {
            byte[] ones = new byte[1001];
            java.util.Arrays.fill(ones, (byte) 1);
            q.put(manager.create(java.util.Arrays.copyOf(ones, 1000)));
            assertEquals(1, ShmLeakCheck.fileCount(), "1000 bytes travel inside the message: only the queue's segment");
            q.put(manager.create(ones));
            assertEquals(2, ShmLeakCheck.fileCount(), "1001 bytes travel by stub: a segment of their own");
            try (ChildJvm child = child(ShmLeakCheck.directory(), "get-ndarrays", q.name(), "2")) {
                assertEquals("1000 1000", child.expect("ARRAY"));
                assertEquals("1001 1001", child.expect("ARRAY"));
                assertEquals(0, child.waitExit());
            }
            assertEquals(1, ShmLeakCheck.fileCount(), "the other JVM took over the stub's segment and released it");
        }
    }

    @Test
    void aChildJvmOpensAQueueByTheNameItWasCreatedWith() throws Exception {
        try (SimpleQueue q = SimpleQueue.create("actor-experience", 8);
                ChildJvm consumer = child(ShmLeakCheck.directory(), "consume-print", "actor-experience")) {
            consumer.expect("OPEN");
            for (int i = 0; i < 3; i++) {
                q.put(i);
                assertEquals(Integer.toString(i), consumer.expect("GOT"));
            }
        }
    }

    @Test
    void queueOfKilledProcessesIsReaped() throws Exception {
        Path dir = ShmLeakCheck.directory();
        try (ChildJvm child = child(dir, "create-and-wait")) {
            String name = child.expect("NAME");
            assertTrue(Files.exists(dir.resolve(name)));
            child.kill9();
            assertTrue(SegmentReaper.reap(dir).stream().anyMatch(info -> info.toString().contains(name)),
                    "the reaper removed the queue");
            assertFalse(Files.exists(dir.resolve(name)));
        }
    }

    /** Takes integers until none arrives for {@code quietMillis}. */
    private static void drainInto(SimpleQueue q, BitSet got, long quietMillis) {
        Map<Integer, Integer> twice = new HashMap<>();
        while (true) {
            Object v;
            try {
                v = q.get(Duration.ofMillis(quietMillis));
            } catch (QueueTimeoutException e) {
                if (!twice.isEmpty()) {
                    throw new AssertionError("delivered twice: " + twice.keySet());
                }
                return;
            }
            int i = (Integer) v;
            if (got.get(i)) {
                twice.merge(i, 1, Integer::sum);
            }
            got.set(i);
        }
    }

    /** A child JVM running {@link QueueChild} with {@code args}, its segments in {@code dir}. */
    private static ChildJvm child(Path dir, String... args) throws java.io.IOException {
        return ChildJvm.start(QueueChild.class, dir, args);
    }

    private static String consumerLines(ChildJvm child) throws java.io.IOException {
        StringBuilder rest = new StringBuilder();
        for (String line = child.readLineOrNull(); line != null; line = child.readLineOrNull()) {
            if (line.startsWith("GOT ")) {
                rest.append(line).append('\n');
            }
        }
        return rest.toString();
    }

    private static List<Integer> readInts(Path file) throws java.io.IOException {
        List<Integer> values = new ArrayList<>();
        try (DataInputStream in = new DataInputStream(Files.newInputStream(file))) {
            while (true) {
                values.add(in.readInt());
            }
        } catch (EOFException end) {
            return values;
        }
    }
}
