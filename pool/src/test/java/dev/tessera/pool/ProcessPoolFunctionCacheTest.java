package dev.tessera.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * With a worker that keeps only a few functions, many functions used in turn all run, and each reaches the
 * worker exactly as often as the parent's least-recently-used table forgot it: the worker never misses one it
 * was told to keep, and never decodes one more often than needed.
 */
@Tag("integration")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProcessPoolFunctionCacheTest {
    /**
     * A task function that counts, in the worker JVM, how often one was deserialized there (a class, not a
     * record: records do not call {@code readObject}). Equal {@code k}, equal function.
     */
    static final class AddK implements SerializableFunction<Integer, Long> {
        private static final long serialVersionUID = 1L;
        private static long decodes;
        private final int k;

        AddK(int k) {
            this.k = k;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof AddK a && a.k == k;
        }

        @Override
        public int hashCode() {
            return k;
        }

        @Override
        public Long apply(Integer x) {
            return x + k + 1_000_000L * decodes;
        }

        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
            decodes++;
        }
    }

    @AfterEach
    void noWorkersLeft() {
        ProcessLeakCheck.assertAtMost(0);
    }

    @Test
    void manyFunctionsThroughASmallCacheAllRunAndTravelOnlyWhenEvicted() {
        int capacity = 3;
        // the reference: an LRU of the same capacity counts the sends the parent must make
        Map<Integer, Boolean> lru = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Integer, Boolean> eldest) {
                return size() > capacity;
            }
        };
        long expectedDecodes = 0;
        try (ProcessPool pool = ProcessPool.builder().optWorkers(1).functionCacheCapacity(capacity).build()) {
            for (int i = 0; i < 300; i++) {
                int k = i % 7 < 4 ? i % 2 : (i * 5) % 11; // two hot functions among eleven
                if (lru.get(k) == null) {
                    lru.put(k, true);
                    expectedDecodes++;
                }
                long answer = pool.apply(new AddK(k), i);
                assertEquals(i + k, answer % 1_000_000L, "task " + i + " with function " + k);
                assertEquals(expectedDecodes, answer / 1_000_000L, "function decodes in the worker after task " + i);
            }
        }
        assertTrue(expectedDecodes > 11 && expectedDecodes < 300, "the sequence exercises eviction: " + expectedDecodes);
    }
}
