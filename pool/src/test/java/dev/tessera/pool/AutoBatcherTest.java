package dev.tessera.pool;

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
    void startsAtOneAndGrowsWhileBatchesAreFasterThanPointTwoSeconds() {
        assertEquals(1, batcher.nextSize());
        batcher.completed(1, 0.001);
        assertEquals(400, batcher.nextSize(), "2 * 1 * 0.2 / 0.001");
        assertTrue(debug.get(0).startsWith("Batch computation too fast (0.0010s.) Setting batch_size=400."), debug.get(0));
    }

    @Test
    void shrinksByHalfAboveTwoSecondsAndStaysInBetween() {
        batcher.completed(1, 0.01);
        assertEquals(40, batcher.nextSize());
        batcher.completed(40, 3.0);
        assertEquals(20, batcher.nextSize());
        batcher.completed(20, 1.0);
        assertEquals(20, batcher.nextSize(), "between 0.2 s and 2 s the size holds");
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
    void eachCallStartsAfresh() {
        batcher.completed(1, 0.001);
        assertEquals(400, batcher.nextSize());
        assertEquals(1, new AutoBatcher(s -> {}).nextSize(), "a new call resets the batch size");
    }
}
