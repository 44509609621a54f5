package dev.tessera.tools.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code bench server}'s command line, the shape of its rows, and the {@code a3c} hook (with a stand-in sample in a
 * child JVM); the multi-JVM cases themselves are measured by running the benchmark.
 */
class ServerBenchmarkTest {
    @Test
    void defaultsRunTheOrderedAndGradientCasesWithOneTwoAndFourClients() {
        ServerBenchmark.Options o = ServerBenchmark.Options.parse(new String[0]);
        assertFalse(o.json());
        assertFalse(o.quick());
        assertEquals(List.of("ordered", "grad"), o.cases());
        assertArrayEquals(new int[] {1, 2, 4}, o.clients());
        assertEquals(5, o.worldSize());
        assertTrue(o.selected("ordered-replicated-1MB"));
        assertTrue(o.selected("grad-1M-4clients"));
        assertFalse(o.selected("a3c"));
    }

    @Test
    void parsesEveryOption() {
        ServerBenchmark.Options o = ServerBenchmark.Options.parse(new String[] {"--format", "json", "--quick",
            "--cases", " a3c, hosted ", "--clients", "1", "--a3c-timeout", "90"});
        assertTrue(o.json());
        assertTrue(o.quick());
        assertEquals(List.of("a3c", "hosted"), o.cases());
        assertTrue(o.selected("ordered-hosted-small"));
        assertFalse(o.selected("ordered-replicated-small"));
        assertEquals(3, o.worldSize()); // the Raft group needs three members even with one client
        assertEquals(90, o.a3cTimeoutSeconds());
        assertFalse(ServerBenchmark.Options.parse(new String[] {"--format", "table"}).json());
    }

    @Test
    void rejectsBadArgumentsNamingThem() {
        assertMessage("'--bogus'", "--bogus");
        assertMessage("--format xml", "--format", "xml");
        assertMessage("--clients 0 ", "--clients", "1,0");
        assertMessage("--clients 1,17", "--clients", "1,17");
        assertMessage("--a3c-timeout x", "--a3c-timeout", "x");
        assertMessage("--cases ','", "--cases", ",");
        assertMessage("--cases needs a value", "--cases");
    }

    private static void assertMessage(String expected, String... args) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ServerBenchmark.Options.parse(args));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void aJsonRowStartsWithBenchAndCaseThenKeepsTheFieldsInOrder() throws Exception {
        ObjectNode fields = ServerBenchmark.MAPPER.createObjectNode().put("bytes", 8)
                .put("case", "ordered-hosted-small").put("medianMicros", 1234.5678);
        JsonNode row = ServerBenchmark.MAPPER.readTree(ServerBenchmark.row(true, fields));
        List<String> names = new ArrayList<>();
        row.fieldNames().forEachRemaining(names::add);
        assertEquals(List.of("bench", "case", "bytes", "medianMicros"), names);
        assertEquals("server", row.get("bench").asText());
        assertEquals("ordered-hosted-small", row.get("case").asText());
        assertEquals(1234.5678, row.get("medianMicros").asDouble());
        String table = ServerBenchmark.row(false, fields);
        assertTrue(table.startsWith("ordered-hosted-small "), table);
        assertTrue(table.endsWith(" bytes=8 medianMicros=1234.568"), table);
    }

    @Test
    void a3cIsSkippedWithAReasonWhenTheSampleIsNotOnTheClassPath() throws Exception {
        List<ObjectNode> rows = ServerBenchmark.a3c("com.example.samples.NoSuchSample", 60);
        assertEquals(1, rows.size());
        assertEquals("a3c", rows.getFirst().get("case").asText());
        assertTrue(rows.getFirst().get("skipped").asText().contains("com.example.samples.NoSuchSample is not on the "
                + "class path"), rows.getFirst().toString());
        JsonNode line = ServerBenchmark.MAPPER.readTree(ServerBenchmark.row(true, rows.getFirst()));
        assertEquals("server", line.get("bench").asText());
    }

    @Test
    void a3cTurnsTheSamplesJsonLinesIntoRows() throws Exception {
        List<ObjectNode> rows = ServerBenchmark.a3c(FakeA3c.class.getName(), 120);
        assertEquals(2, rows.size(), rows.toString());
        assertEquals("{\"case\":\"a3c-actors-2\",\"actors\":2,\"stepsPerSec\":1234.5}", rows.get(0).toString());
        assertEquals("{\"case\":\"a3c\",\"actors\":1,\"solvedSeconds\":61.0}", rows.get(1).toString());
    }

    @Test
    void aFailingA3cRunFailsTheBenchmarkWithItsExitStatus() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> ServerBenchmark.a3c(FailingA3c.class.getName(), 120));
        assertTrue(e.getMessage().contains(FailingA3c.class.getName() + " --format json failed (exit 4"),
                e.getMessage());
    }

    @Test
    void a3cLinesThatAreNotJsonObjectsAreNotRows() {
        assertNull(ServerBenchmark.a3cRow("episode 10, mean reward 22.5"));
        assertNull(ServerBenchmark.a3cRow("{ not json"));
        assertNull(ServerBenchmark.a3cRow("[1, 2]"));
        assertEquals("{\"case\":\"a3c\"}", ServerBenchmark.a3cRow("{}").toString());
    }

    @Test
    void theSamplesOwnA3cCaseIsNotPrefixedTwice() {
        assertEquals("{\"case\":\"a3c\",\"actors\":1}",
                ServerBenchmark.a3cRow("{\"bench\":\"server\",\"case\":\"a3c\",\"actors\":1}").toString());
        assertEquals("{\"case\":\"a3c-solve\"}", ServerBenchmark.a3cRow("{\"case\":\"a3c-solve\"}").toString());
    }
}
