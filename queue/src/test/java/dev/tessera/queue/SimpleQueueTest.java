package dev.tessera.queue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import dev.tessera.sharedmem.DType;
import dev.tessera.sharedmem.MalformedMessageException;
import dev.tessera.sharedmem.SharedSegment;
import dev.tessera.sharedmem.SharedTensor;
import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(ShmLeakCheck.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SimpleQueueTest {

    /** A user class outside the codec's default allow-list. */
    record Task(String name, int steps) implements Serializable {}

    @Test
    void roundTripsObjectsInOrder() {
        try (SimpleQueue q = SimpleQueue.create(4)) {
            q.put("hello");
            q.put(List.of(1, 2, 3));
            assertEquals(2, q.size());
            assertEquals("hello", q.get());
            assertEquals(List.of(1, 2, 3), q.get(Duration.ofSeconds(1)));
            assertEquals(0, q.size());
            assertNull(q.poll());
        }
    }

    @Test
    void scalarsStringsAndBytesKeepTheirTypeAndValue() {
        try (SimpleQueue q = SimpleQueue.builder().optCapacity(16).optMaxMessageBytes(128).create()) {
            List<Object> values = List.of(Integer.MIN_VALUE, 7, Long.MAX_VALUE, -2.5, Double.NaN, "", "héllo ✓",
                    (short) 3, 'c', true, 1.5f);
            values.forEach(q::put);
            for (Object v : values) {
                assertEquals(v, q.get());
            }
            q.put(new byte[] {1, 2, 3});
            org.junit.jupiter.api.Assertions.assertArrayEquals(new byte[] {1, 2, 3}, (byte[]) q.get());
            IllegalArgumentException big = assertThrows(IllegalArgumentException.class, () -> q.put("x".repeat(128)));
            assertTrue(big.getMessage().startsWith("message of 129 bytes exceeds maxMessageBytes=128"), big.getMessage());
            assertThrows(IllegalArgumentException.class, () -> q.put(new byte[128]));
            assertEquals(0, q.size());
            q.put(new byte[127]);
            assertEquals(127, ((byte[]) q.get()).length);
        }
    }

    @Test
    void wrapsAroundManyLaps() {
        try (SimpleQueue q = SimpleQueue.create(3)) {
            for (int i = 0; i < 1000; i++) {
                q.put(i);
                q.put(-i);
                assertEquals(i, q.get());
                assertEquals(-i, q.poll());
            }
        }
    }

    @Test
    void fullQueueRefusesOfferAndTimesOutPut() {
        try (SimpleQueue q = SimpleQueue.create(2)) {
            assertTrue(q.offer(1));
            assertTrue(q.offer(2));
            assertFalse(q.offer(3));
            long start = System.nanoTime();
            assertFalse(q.offer(3, Duration.ofMillis(50)));
            assertTrue(System.nanoTime() - start >= 50_000_000L);
            assertEquals(2, q.size());
            assertEquals(1, q.get());
            assertTrue(q.offer(3));
            assertEquals(2, q.get());
            assertEquals(3, q.get());
        }
    }

    @Test
    void putBlocksUntilAConsumerMakesRoom() throws Exception {
        try (SimpleQueue q = SimpleQueue.create(1)) {
            q.put("first");
            CompletableFuture<Void> blocked = CompletableFuture.runAsync(() -> q.put("second"));
            assertThrows(java.util.concurrent.TimeoutException.class, () -> blocked.get(100, TimeUnit.MILLISECONDS));
            assertEquals("first", q.get());
            blocked.get(10, TimeUnit.SECONDS);
            assertEquals("second", q.get());
        }
    }

    @Test
    void getTimesOutWithTheQueueAndTimeoutNamed() {
        try (SimpleQueue q = SimpleQueue.create(2)) {
            long start = System.nanoTime();
            QueueTimeoutException e = assertThrows(QueueTimeoutException.class, () -> q.get(Duration.ofMillis(80)));
            assertTrue(System.nanoTime() - start >= 80_000_000L);
            assertTrue(e.getMessage().contains(q.name()) && e.getMessage().contains("PT0.08S"), e.getMessage());
            assertEquals(Duration.ofMillis(80), e.timeout());
            assertThrows(QueueTimeoutException.class, () -> q.get(Duration.ZERO));
        }
    }

    @Test
    void closedHandleFailsClearlyAndWakesWaiters() throws Exception {
        SimpleQueue q = SimpleQueue.create(2);
        Future<Object> waiting = CompletableFuture.supplyAsync(q::get);
        assertThrows(java.util.concurrent.TimeoutException.class, () -> waiting.get(50, TimeUnit.MILLISECONDS));
        q.close();
        q.close(); // idempotent
        Exception e = assertThrows(Exception.class, () -> waiting.get(10, TimeUnit.SECONDS));
        assertInstanceOf(IllegalStateException.class, e.getCause());
        assertTrue(e.getCause().getMessage().contains("is closed"), e.getCause().getMessage());
        IllegalStateException put = assertThrows(IllegalStateException.class, () -> q.put(1));
        assertTrue(put.getMessage().contains(q.name()) && put.getMessage().contains("closed"), put.getMessage());
        assertThrows(IllegalStateException.class, q::poll);
        assertThrows(IllegalStateException.class, q::size);
        assertFalse(q.isOpen());
    }

    @Test
    void interruptedWaitIsCancelled() throws Exception {
        try (SimpleQueue q = SimpleQueue.create(1)) {
            Thread.currentThread().interrupt();
            try {
                assertThrows(CancellationException.class, q::get);
                assertTrue(Thread.currentThread().isInterrupted());
            } finally {
                Thread.interrupted();
            }
        }
    }

    @Test
    void openedHandleSeesTheSameQueueAndTheQueueOutlivesTheCreator() {
        SimpleQueue creator = SimpleQueue.builder().optCapacity(8).optMaxMessageBytes(256).create();
        try (SimpleQueue other = SimpleQueue.open(creator.name())) {
            assertEquals(8, other.capacity());
            assertEquals(256, other.maxMessageBytes());
            creator.put("from creator");
            creator.close();
            assertEquals("from creator", other.get());
            other.put("still works");
            assertEquals("still works", other.poll());
        }
        IllegalStateException gone = assertThrows(IllegalStateException.class, () -> SimpleQueue.open(creator.name()));
        assertTrue(gone.getMessage().contains("does not exist"), gone.getMessage());
    }

    @Test
    void aQueueThatNeverSpinsStillHandsOverAndTimesOut() {
        try (SimpleQueue q = SimpleQueue.builder().optCapacity(2).optSpinWait(Duration.ZERO).create();
                SimpleQueue other = SimpleQueue.builder().optSpinWait(Duration.ZERO).open(q.name())) {
            CompletableFuture<Object> got = CompletableFuture.supplyAsync(() -> other.get(Duration.ofSeconds(30)));
            q.put(42);
            assertEquals(42, got.join());
            assertThrows(QueueTimeoutException.class, () -> other.get(Duration.ofMillis(5)), "an empty queue times out");
        }
    }

    @Test
    void aSleepingGetTimesOutOnTimeAndASleepingPutToo() {
        try (SimpleQueue q = SimpleQueue.builder().optCapacity(1).optSpinWait(Duration.ZERO)
                .maxSleep(Duration.ofSeconds(60)).create()) {
            long start = System.nanoTime();
            assertThrows(QueueTimeoutException.class, () -> q.get(Duration.ofMillis(300)));
            assertWaited(start, 300);
            q.put("fills it");
            start = System.nanoTime();
            assertFalse(q.offer("no room", Duration.ofMillis(300)));
            assertWaited(start, 300);
        }
    }

    private static void assertWaited(long start, long millis) {
        long waited = System.nanoTime() - start;
        assertTrue(waited >= TimeUnit.MILLISECONDS.toNanos(millis) && waited < TimeUnit.SECONDS.toNanos(5),
                "a " + millis + " ms wait took " + waited / 1_000_000 + " ms");
    }

    @Test
    void closingAHandleWakesItsSleepingGet() throws Exception {
        SimpleQueue q = SimpleQueue.builder().optSpinWait(Duration.ZERO).maxSleep(Duration.ofSeconds(60)).create();
        try {
            CompletableFuture<Object> got = CompletableFuture.supplyAsync(() -> q.get(Duration.ofSeconds(30)));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (q.waitMode() == SimpleQueue.WaitMode.FUTEX && q.notEmpty().waiters() == 0) {
                assertTrue(System.nanoTime() < deadline, "the get never went to sleep");
                Thread.onSpinWait();
            }
            long start = System.nanoTime();
            q.close();
            java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> got.get(20, TimeUnit.SECONDS));
            assertInstanceOf(IllegalStateException.class, e.getCause());
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(4), "close woke the sleeper at once");
        } finally {
            q.close();
        }
    }

    @Test
    void reportsHowItWaitsAndRefusesAQueueOfAnotherLayoutVersion() {
        try (SimpleQueue q = SimpleQueue.create("versioned", 2)) {
            boolean off = "false".equalsIgnoreCase(System.getProperty("tessera.queue.futex"));
            boolean linux = System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT).contains("linux");
            if (linux) {
                assertEquals(off ? SimpleQueue.WaitMode.BACKOFF : SimpleQueue.WaitMode.FUTEX, q.waitMode());
            }
            assertTrue(q.toString().contains(q.waitMode().toString()), q.toString());
            try (SharedSegment raw = SharedSegment.open("versioned")) {
                raw.data().set(java.lang.foreign.ValueLayout.JAVA_INT, 4, 1); // a queue of the layout before wait words
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> SimpleQueue.open("versioned"));
                assertTrue(e.getMessage().contains("has layout version 1 but this Tessera reads version 2"),
                        e.getMessage());
                raw.data().set(java.lang.foreign.ValueLayout.JAVA_INT, 4, 2);
            }
            try (SimpleQueue again = SimpleQueue.open("versioned")) {
                assertEquals(2, again.capacity());
            }
        }
    }

    @Test
    void validatesCapacitySizeAndName() {
        IllegalArgumentException cap = assertThrows(IllegalArgumentException.class, () -> SimpleQueue.create(0));
        assertEquals("capacity=0 (expected 1 <= x <= 16777216)", cap.getMessage());
        IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
                () -> SimpleQueue.builder().optMaxMessageBytes(-5));
        assertEquals("maxMessageBytes=-5 (expected 1 <= x <= 67108864)", size.getMessage());
        IllegalArgumentException name = assertThrows(IllegalArgumentException.class, () -> SimpleQueue.open("jobs/1"));
        assertTrue(name.getMessage().startsWith("queue name: segment name 'jobs/1'"), name.getMessage());
        IllegalArgumentException chosen = assertThrows(IllegalArgumentException.class,
                () -> SimpleQueue.create("-jobs", 4));
        assertTrue(chosen.getMessage().contains("'-jobs'") && chosen.getMessage().contains("1..32 characters"),
                chosen.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SimpleQueue.builder().optAllowPatterns("com..bad"));
        IllegalArgumentException spin = assertThrows(IllegalArgumentException.class,
                () -> SimpleQueue.builder().optSpinWait(Duration.ofMillis(11)));
        assertEquals("spinWait=PT0.011S (expected from 0 to 10 ms)", spin.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SimpleQueue.builder().optSpinWait(Duration.ofNanos(-1)));
        try (SimpleQueue q = SimpleQueue.create(4)) {
            IllegalArgumentException mismatch = assertThrows(IllegalArgumentException.class,
                    () -> SimpleQueue.builder().optCapacity(5).open(q.name()));
            assertTrue(mismatch.getMessage().contains("capacity 4"), mismatch.getMessage());
        }
    }

    @Test
    void aQueueCreatedUnderAChosenNameIsOpenedByThatName() {
        try (SimpleQueue created = SimpleQueue.create("jobs", 4)) {
            assertEquals("jobs", created.name());
            created.put("first");
            try (SimpleQueue opened = SimpleQueue.open("jobs")) {
                assertEquals(4, opened.capacity());
                assertEquals("first", opened.get(Duration.ofSeconds(5)));
                opened.put(2);
            }
            assertEquals(2, created.get(Duration.ofSeconds(5)));
            IllegalStateException taken = assertThrows(IllegalStateException.class,
                    () -> SimpleQueue.create("jobs", 4));
            assertTrue(taken.getMessage().contains("'jobs' is taken"), taken.getMessage());
        }
        IllegalStateException gone = assertThrows(IllegalStateException.class, () -> SimpleQueue.open("jobs"));
        assertTrue(gone.getMessage().contains("does not exist"), gone.getMessage());
        try (SimpleQueue again = SimpleQueue.builder().optName("jobs").optCapacity(2).create()) {
            assertEquals(0, again.size(), "a new queue of the freed name");
        }
    }

    @Test
    void refusesToOpenANamedSegmentThatIsNotAQueue() {
        try (SharedSegment plain = SharedSegment.builder().setSize(1 << 16).optName("plain").build()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> SimpleQueue.open("plain"));
            assertTrue(e.getMessage().contains("is not a queue"), e.getMessage());
        }
    }

    @Test
    void refusesToOpenASegmentThatIsNotAQueue() {
        try (SharedSegment plain = SharedSegment.builder().setSize(1 << 16).build()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> SimpleQueue.open(plain.name()));
            assertTrue(e.getMessage().contains("is not a queue"), e.getMessage());
        }
    }

    @Test
    void oversizedMessageNamesItsSizeAndTheOptionAndLeavesTheQueueUsable() {
        try (NDManager manager = NDManager.newBaseManager();
                SimpleQueue q = SimpleQueue.builder().optCapacity(2).optMaxMessageBytes(512).optCopyTensors(true)
                        .optManager(manager).create()) {
            NDArray big = manager.ones(new ai.djl.ndarray.types.Shape(1024)); // 4 KiB copied into the message
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> q.put(big));
            assertTrue(e.getMessage().matches("message of \\d+ bytes exceeds maxMessageBytes=512 of queue .*"
                    + "optMaxMessageBytes.*"), e.getMessage());
            assertTrue(Long.parseLong(e.getMessage().split(" ")[2]) > 4096, e.getMessage());
            assertEquals(0, q.size());
            q.put("small");
            assertEquals("small", q.get());
        }
    }

    @Test
    void oversizedGraphWithStubsGivesItsSegmentsBack() {
        try (NDManager manager = NDManager.newBaseManager();
                SimpleQueue q = SimpleQueue.builder().optCapacity(2).optMaxMessageBytes(300).optCopyTensors(false)
                        .create()) {
            List<NDArray> arrays = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                arrays.add(manager.ones(new ai.djl.ndarray.types.Shape(4)));
            }
            assertThrows(IllegalArgumentException.class, () -> q.put(new ArrayList<>(arrays)));
            assertEquals(1, ShmLeakCheck.fileCount(), "only the queue's own segment is left");
        }
    }

    @Test
    void tensorsTravelAsStubsByDefaultAndAsCopiesWhenAsked() {
        try (NDManager manager = NDManager.newBaseManager();
                SimpleQueue stubs = SimpleQueue.builder().optManager(manager).create();
                SimpleQueue copies = SimpleQueue.builder().optManager(manager).optCopyTensors(true).create()) {
            NDArray a = manager.arange(0f, 1024f); // 4 KiB: a copy does not fit the default slot
            stubs.put(a);
            assertEquals(3, ShmLeakCheck.fileCount(), "two queues and the stub's segment");
            NDArray viaStub = (NDArray) stubs.get();
            assertEquals(a.sum().getFloat(), viaStub.sum().getFloat());

            NDArray small = manager.arange(0f, 64f);
            copies.put(small);
            assertEquals(3, ShmLeakCheck.fileCount(), "a copy needs no segment of its own");
            NDArray viaCopy = (NDArray) copies.get();
            assertEquals(small.sum().getFloat(), viaCopy.sum().getFloat());
            assertThrows(IllegalArgumentException.class, () -> copies.put(a));
            viaStub.close();
        }
    }

    @Test
    void sharedTensorTravelsAsAStubAndStaysTheCallers() {
        try (SimpleQueue q = SimpleQueue.create(2);
                SharedTensor t = SharedTensor.allocate(DType.FLOAT32, 16 << 20)) { // 64 MiB
            t.segment().set(java.lang.foreign.ValueLayout.JAVA_FLOAT, 28, 3.5f);
            q.put(t);
            try (SharedTensor received = (SharedTensor) q.get()) {
                assertEquals(3.5f, received.segment().get(java.lang.foreign.ValueLayout.JAVA_FLOAT, 28));
                assertEquals(t.ref(), received.ref());
            }
            assertTrue(t.isOpen());
        }
    }

    @Test
    void allowPatternsFollowTheCodecsRules() {
        try (SimpleQueue q = SimpleQueue.create(2);
                SimpleQueue strict = SimpleQueue.open(q.name());
                SimpleQueue allowing = SimpleQueue.builder().optAllowPatterns("dev.tessera.queue.*").open(q.name())) {
            q.put(new Task("a", 1));
            MalformedMessageException refused = assertThrows(MalformedMessageException.class, strict::get);
            assertTrue(refused.getMessage().contains(Task.class.getName()), refused.getMessage());
            q.put(new Task("b", 2));
            assertEquals(new Task("b", 2), allowing.get());
        }
    }

    @Test
    void manyThreadProducersAndConsumersDeliverEachMessageExactlyOnce() throws Exception {
        int producers = 3;
        int consumers = 3;
        int each = 20_000;
        ExecutorService pool = Executors.newFixedThreadPool(producers + consumers);
        try (SimpleQueue q = SimpleQueue.create(16)) {
            List<Future<BitSet>> got = new ArrayList<>();
            for (int c = 0; c < consumers; c++) {
                got.add(pool.submit(() -> {
                    BitSet seen = new BitSet();
                    while (true) {
                        int v = (Integer) q.get(Duration.ofSeconds(20));
                        if (v < 0) {
                            return seen;
                        }
                        if (seen.get(v)) {
                            throw new AssertionError("delivered twice: " + v);
                        }
                        seen.set(v);
                    }
                }));
            }
            List<Future<?>> put = new ArrayList<>();
            for (int p = 0; p < producers; p++) {
                int base = p * each;
                put.add(pool.submit(() -> {
                    for (int i = 0; i < each; i++) {
                        q.put(base + i);
                    }
                }));
            }
            for (Future<?> f : put) {
                f.get(30, TimeUnit.SECONDS);
            }
            for (int c = 0; c < consumers; c++) {
                q.put(-1);
            }
            BitSet all = new BitSet();
            int total = 0;
            for (Future<BitSet> f : got) {
                BitSet s = f.get(30, TimeUnit.SECONDS);
                total += s.cardinality();
                assertFalse(all.intersects(s), "a message went to two consumers");
                all.or(s);
            }
            assertEquals(producers * each, total);
            assertEquals(producers * each, all.nextClearBit(0));
        } finally {
            pool.shutdownNow();
        }
    }

    private static byte[] bytes(int n) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) 3);
        return b;
    }

    /**
     * Puts an INT8 array of {@code n} bytes on {@code in}, counts the segments, takes it from {@code out}; a stub's
     * segment then belongs to {@code manager}, which the leak check sees released when the test closes it.
     */
    private static long segmentsWhileQueued(SimpleQueue in, SimpleQueue out, NDManager manager, int n) {
        in.put(manager.create(bytes(n)));
        long segments = ShmLeakCheck.fileCount();
        try (NDArray back = (NDArray) out.get()) {
            assertArrayEquals(bytes(n), back.toByteArray());
        }
        return segments;
    }

    @Test
    void arraysUpToMaxNbytesTravelInlineAndLargerOnesByStub() {
        try (NDManager manager = NDManager.newBaseManager();
                SimpleQueue producer = SimpleQueue.builder().optMaxNbytes(1000).create();
                SimpleQueue consumer = SimpleQueue.builder().optManager(manager).open(producer.name())) {
            assertEquals(1, segmentsWhileQueued(producer, consumer, manager, 1000), "maxNbytes bytes travel inline");
            assertEquals(2, segmentsWhileQueued(producer, consumer, manager, 1001), "one byte more by stub");
        }
    }

    @Test
    void theDefaultThresholdIsHalfASlotUpToOneMebibyte() {
        int half = SimpleQueue.DEFAULT_MAX_MESSAGE_BYTES / 2;
        try (NDManager manager = NDManager.newBaseManager();
                SimpleQueue q = SimpleQueue.builder().optManager(manager).create()) {
            assertEquals(1, segmentsWhileQueued(q, q, manager, half), "half the default slot travels inline");
            assertEquals(2, segmentsWhileQueued(q, q, manager, half + 1));
        }
        try (NDManager manager = NDManager.newBaseManager();
                SimpleQueue q = SimpleQueue.builder().optCapacity(1).optMaxMessageBytes(4 << 20).optManager(manager)
                        .create()) {
            assertEquals(1, segmentsWhileQueued(q, q, manager, 1 << 20), "1 MiB travels inline in 4 MiB slots");
            assertEquals(2, segmentsWhileQueued(q, q, manager, (1 << 20) + 1));
        }
    }

    @Test
    void copyTensorsForcesOneWayAndExcludesMaxNbytes() {
        try (NDManager manager = NDManager.newBaseManager();
                SimpleQueue stubs = SimpleQueue.builder().optManager(manager).optCopyTensors(false).create()) {
            assertEquals(2, segmentsWhileQueued(stubs, stubs, manager, 1), "optCopyTensors(false): one byte by stub");
        }
        IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
                () -> SimpleQueue.builder().optMaxNbytes(-1));
        assertTrue(negative.getMessage().startsWith("maxNbytes=-1 (expected >= 0"), negative.getMessage());
        IllegalArgumentException both = assertThrows(IllegalArgumentException.class,
                () -> SimpleQueue.builder().optCopyTensors(true).optMaxNbytes(5).create());
        assertTrue(both.getMessage().contains("maxNbytes=5") && both.getMessage().contains("optCopyTensors(true)"),
                both.getMessage());
        assertEquals(0, ShmLeakCheck.fileCount(), "the rejected builder created no queue");
    }
}
