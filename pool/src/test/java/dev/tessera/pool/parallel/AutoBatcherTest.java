package dev.tessera.pool.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** joblib's batch-size rule, step by step. */
class AutoBatcherTest {
    private final List<String> debug = new ArrayList<>();
    private final AutoBatcher batcher = new AutoBatcher(debug::add);

    @Test
    void startsAtOneAndAtMostDoublesWhileBatchesAreFasterThanPointTwoSeconds() {
        assertEquals(1, batcher.nextSize());
        batcher.completed(1, 0.001);
        assertEquals(2, batcher.nextSize(), "min(2 * 200, 2 * 1): growth is capped at doubling");
        assertTrue(debug.get(0).startsWith("Batch computation too fast (0.0010s.) Setting batch_size=2."), debug.get(0));
        batcher.completed(2, 0.001);
        assertEquals(4, batcher.nextSize());
        batcher.completed(4, 0.05);
        assertEquals(8, batcher.nextSize(), "ideal 2 * 16 = 32, capped at 8");
        batcher.completed(8, 0.15);
        assertEquals(16, batcher.nextSize(), "ideal 2 * floor(10.67) = 20, capped at 16");
        batcher.completed(16, 0.19);
        assertEquals(32, batcher.nextSize(), "ideal 2 * floor(16.8) = 32");
        batcher.completed(32, 0.12);
        assertEquals(64, batcher.nextSize(), "ideal 2 * floor(53.3) = 106, capped at 64");
    }

    @Test
    void shrinksAtOnceAboveTwoSecondsAndHoldsInBetween() {
        growTo(64);
        batcher.completed(64, 3.2);
        assertEquals(8, batcher.nextSize(), "max(2 * floor(64 * 0.2 / 3.2), 1) = 2 * 4");
        assertTrue(debug.get(debug.size() - 1).startsWith("Batch computation too slow (3.2000s.) Setting batch_size=8."));
        batcher.completed(8, 50.0);
        assertEquals(1, batcher.nextSize(), "max(2 * floor(0.032), 1)");
        batcher.completed(1, 5.0);
        assertEquals(1, batcher.nextSize(), "a batch of one cannot shrink");
        growTo(16);
        batcher.completed(16, 1.0);
        assertEquals(16, batcher.nextSize(), "between 0.2 s and 2 s the size holds");
        batcher.completed(16, 1.9);
        assertEquals(16, batcher.nextSize());
    }

    @Test
    void smoothsDurationsAndIgnoresBatchesOfAnOldSize() {
        batcher.completed(1, 1.0);
        batcher.completed(1, 0.5); // 0.8 * 1.0 + 0.2 * 0.5 = 0.9
        batcher.completed(7, 0.0001); // another size: ignored
        assertEquals(1, batcher.nextSize());
        batcher.completed(1, 0.05); // 0.8 * 0.9 + 0.2 * 0.05 = 0.73: still in range
        assertEquals(1, batcher.nextSize());
    }

    @Test
    void theEstimateResetsWhenTheSizeChanges() {
        batcher.completed(1, 0.01);
        assertEquals(2, batcher.nextSize());
        batcher.completed(2, 1.0); // first duration at the new size, not averaged with the 0.01 s before
        assertEquals(2, batcher.nextSize(), "1.0 s is in range; an average with 0.01 s would have grown it");
    }

    @Test
    void eachCallStartsAfresh() {
        batcher.completed(1, 0.001);
        assertEquals(2, batcher.nextSize());
        assertEquals(1, new AutoBatcher(s -> {}).nextSize(), "a new call resets the batch size");
    }

    /** Doubles from 1 to {@code size} (a power of two) with very fast batches. */
    private void growTo(int size) {
        while (batcher.effectiveSize() < size) {
            batcher.completed(batcher.effectiveSize(), 1e-6);
            batcher.nextSize();
        }
        assertEquals(size, batcher.effectiveSize());
    }
}
