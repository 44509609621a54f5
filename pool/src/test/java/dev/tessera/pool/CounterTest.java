package dev.tessera.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class CounterTest {
    @Test
    void reportsEveryNIncrementsExactlyOnceUnderContention() {
        List<String> lines = new CopyOnWriteArrayList<>();
        Counter c = Counter.of("rollouts", 1000, lines::add);
        IntStream.range(0, 8).parallel().forEach(t -> {
            for (int i = 0; i < 5000; i++) {
                c.increment();
            }
        });
        assertEquals(40_000, c.get());
        assertEquals(40, lines.size(), lines.toString());
        assertTrue(lines.stream().allMatch(l -> l.startsWith("rollouts: ")), lines.toString());
        assertTrue(lines.contains(lines.stream().filter(l -> l.startsWith("rollouts: 40000 ")).findFirst().orElseThrow()));
    }

    @Test
    void addReportsOnceWithTheLastThresholdCrossed() {
        List<String> lines = new CopyOnWriteArrayList<>();
        Counter c = Counter.of("items", 10, lines::add);
        c.add(25);
        assertEquals(1, lines.size());
        assertTrue(lines.get(0).startsWith("items: 20 "), lines.get(0));
        assertThrows(IllegalArgumentException.class, () -> c.add(-1));
        assertThrows(IllegalArgumentException.class, () -> Counter.of("x", 0));
    }
}
