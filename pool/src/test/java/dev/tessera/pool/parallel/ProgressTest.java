package dev.tessera.pool.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Progress messages and the live bar, on a fake clock: no run has to last a second. */
class ProgressTest {
    private static final long MS = 1_000_000L;
    private final List<String> messages = new ArrayList<>();
    private final ByteArrayOutputStream terminal = new ByteArrayOutputStream();
    private long now = 5_000 * MS;

    private Progress progress(int verbose, boolean bar) {
        return new Progress(verbose, messages::add, bar, "[Parallel(n_jobs=2)]: ",
                new PrintStream(terminal, true, StandardCharsets.UTF_8), () -> now);
    }

    private String screen() {
        return terminal.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aRunWhoseLastBatchCameBackBeforeExhaustionWasKnownStillEndsWithDoneNOutOfN() {
        Progress p = progress(5, false);
        for (int i = 1; i <= 100; i++) {
            p.batchCompleted(i, -1, i); // the iterator held exactly 100 batches of one: not known exhausted yet
        }
        assertFalse(messages.get(messages.size() - 1).contains("out of"), messages.toString());
        p.allCompleted(100, 100);
        assertTrue(messages.get(messages.size() - 1).matches(
                "\\[Parallel\\(n_jobs=2\\)]: Done 100 out of 100 \\| elapsed: +[0-9.]+s remaining: +0\\.0s"), messages.toString());
        int before = messages.size();
        p.allCompleted(100, 100);
        assertEquals(before, messages.size(), "given once");
    }

    @Test
    void theFinalMessageIsNotRepeatedWhenTheLastBatchKnewTheTotal() {
        Progress p = progress(5, false);
        p.batchCompleted(100, 100, 1);
        int before = messages.size();
        p.allCompleted(100, 1);
        assertEquals(before, messages.size(), messages.toString());
    }

    @Test
    void theBarAppearsOnlyOnceTheRunHasLastedOneSecond() {
        Progress p = progress(1, true);
        now += 999 * MS;
        p.batchCompleted(10, 100, 10);
        assertEquals("", screen(), "a short run shows no bar");
        now += 1 * MS;
        p.batchCompleted(20, 100, 20);
        assertTrue(screen().startsWith("\r[Parallel(n_jobs=2)]: [======                        ] 20/100 elapsed 1.0s remaining 4.0s"),
                screen());
        assertTrue(p.barShown());
    }

    @Test
    void theBarRedrawsInPlaceAtMostEveryTwoHundredMillisecondsAndEndsWithANewline() {
        Progress p = progress(1, true);
        now += 2_000 * MS;
        p.batchCompleted(10, 100, 10);
        now += 100 * MS;
        p.batchCompleted(11, 100, 11);
        assertEquals(1, screen().split("\r", -1).length - 1, "one draw within 200 ms: " + screen());
        now += 100 * MS;
        p.batchCompleted(12, 100, 12);
        assertEquals(2, screen().split("\r", -1).length - 1, screen());
        assertFalse(screen().contains("\n"), "redrawn in place, on one line");
        now += 10 * MS;
        p.batchCompleted(100, 100, 13);
        assertTrue(screen().contains("[==============================] 100/100"), "the last update is always drawn");
        p.finish();
        assertTrue(screen().endsWith("\n"), "finish ends the bar's line");
    }

    @Test
    void aMessageClearsTheBarLineFirst() {
        Progress p = progress(1, true);
        now += 1_500 * MS;
        p.batchCompleted(10, 100, 10);
        int before = screen().length();
        p.print("Using backend THREADS with 2 concurrent workers.");
        assertEquals("\r\u001B[2K", screen().substring(before), "the bar's line is cleared before the message");
        assertEquals("[Parallel(n_jobs=2)]: Using backend THREADS with 2 concurrent workers.", messages.get(messages.size() - 1));
        p.finish();
        assertFalse(screen().endsWith("\n"), "no bar on screen any more, so no newline to end it");
    }

    @Test
    void noBarWhenDisabled() {
        Progress p = progress(5, false);
        now += 3_000 * MS;
        p.batchCompleted(100, 100, 1);
        p.finish();
        assertEquals("", screen());
        assertFalse(p.barShown());
    }

    @Test
    void aBatchThatJumpsPastAThresholdStillReports() {
        Progress p = progress(5, false);
        now += 1_000 * MS;
        p.batchCompleted(15, 100, 1); // below the first fifth: silent
        p.batchCompleted(35, 100, 2); // jumped past 20 (and 40 is not reached): one message
        p.batchCompleted(39, 100, 3);
        p.batchCompleted(100, 100, 4);
        assertEquals(2, messages.size(), messages.toString());
        assertTrue(messages.get(0).contains("Done  35 out of 100 | elapsed:   1.0s remaining:   1.9s"), messages.get(0));
        assertTrue(messages.get(1).contains("Done 100 out of 100"), messages.get(1));
    }
}
