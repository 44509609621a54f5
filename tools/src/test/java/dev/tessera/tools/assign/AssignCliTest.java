package dev.tessera.tools.assign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AssignCliTest {
    private static final Path GRAPHS = Path.of("..", "samples", "graphs");
    private static final String DEVICES = "\"devices\": [{\"name\": \"cuda:0\", \"memoryMb\": 1000}, {\"name\": \"cuda:1\", \"memoryMb\": 1000}, {\"name\": \"cpu\", \"memoryMb\": 4000}]";

    @TempDir
    Path dir;

    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = AssignCli.run(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), args);
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /**
     * Asserts a clean failure: the exit code, nothing on stdout, exactly one line on stderr (no stack trace) that
     * starts with "tessera: " and contains each of {@code parts}.
     */
    static void assertOneLineError(Result r, int code, String... parts) {
        String err = r.err().strip();
        assertEquals(code, r.code(), r.err());
        assertEquals("", r.out(), "stdout");
        assertFalse(err.contains("\n") || err.contains("Exception") || err.contains("\tat "), "not one clean line: " + r.err());
        assertTrue(err.startsWith("tessera: "), err);
        for (String part : parts) {
            assertTrue(err.contains(part), "missing '" + part + "' in: " + err);
        }
    }

    private Path write(String name, String text) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    @Test
    void jsonOutputHasTheDocumentedFields() throws Exception {
        Path g = write("g.json", "{\"models\": [{\"name\": \"enc\", \"sizeMb\": 300, \"complexity\": 2}, {\"name\": \"dec\", \"sizeMb\": 300}],"
                + " \"connections\": [{\"from\": \"enc\", \"to\": \"dec\", \"volume\": 1}], " + DEVICES
                + ", \"options\": {\"modelSizeMultiplier\": 1, \"maxMemRatio\": 0.7, \"iterations\": 50}}");
        Result r = run("assign", g.toString(), "--format", "json", "--seed", "3");
        assertEquals(0, r.code(), r.err());
        JsonNode root = new ObjectMapper().readTree(r.out());
        assertTrue(root.get("assignment").has("enc") && root.get("assignment").has("dec"), r.out());
        JsonNode dev = root.get("devices").get(0);
        for (String f : new String[] {"name", "usedMb", "capacityMb", "complexityShare"}) {
            assertTrue(dev.has(f), f + " missing: " + r.out());
        }
        for (String f : new String[] {"objective", "communication", "overflowMb"}) {
            assertTrue(root.get("cost").has(f), f + " missing: " + r.out());
        }
        assertEquals("refined", root.get("method").asText());
        JsonNode gradient = root.get("gradientPhase");
        assertEquals(0, gradient.get("steps").asInt(), r.out());
        assertEquals(50, gradient.get("maxSteps").asInt(), r.out());
        assertFalse(gradient.get("converged").asBoolean(), r.out());
        assertEquals("skipped: 9 placements searched exhaustively (optimal)", gradient.get("summary").asText());
        assertTrue(root.get("seconds").asDouble() >= 0);
        assertEquals(0.0, root.get("cost").get("overflowMb").asDouble());
    }

    @Test
    void tableShowsDevicesBarsAndCrossings() {
        Result r = run("assign", GRAPHS.resolve("alexnet.json").toString(), "--option", "searchEffort=0.2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("cuda:3") && r.out().contains("[#") && r.out().contains("heaviest connections"), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("gradient phase: (ran|stopped at step) \\d+ of 500.*")), r.out());
    }

    @Test
    void devicesOptionTakesMemoryAndPower() throws Exception {
        Path g = write("g.json", "{\"models\": [{\"name\": \"a\", \"sizeMb\": 100}], \"connections\": []}");
        Result r = run("assign", g.toString(), "--devices", "cuda:0=500@2,cpu=1000", "--format", "json", "--option", "iterations=10");
        assertEquals(0, r.code(), r.err());
        assertEquals("cuda:0", new ObjectMapper().readTree(r.out()).get("assignment").get("a").asText());
    }

    @Test
    void missingFileIsBadInput() {
        Result r = run("assign", dir.resolve("nope.json").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("nope.json") && r.err().contains("no such file"), r.err());
    }

    @Test
    void invalidJsonNamesTheLine() throws Exception {
        Path g = write("bad.json", "{\n \"models\": [\n  {\"name\": \"a\", \"sizeMb\": 1,}\n ]\n}");
        Result r = run("assign", g.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("bad.json") && r.err().contains("line 3"), r.err());
    }

    @Test
    void unknownFieldIsNamed() throws Exception {
        Path g = write("g.json", "{\"models\": [{\"name\": \"a\", \"size\": 1}]}");
        Result r = run("assign", g.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("models[0]") && r.err().contains("unknown field 'size'"), r.err());
    }

    @Test
    void connectionToUnknownModelIsNamed() throws Exception {
        Path g = write("g.json", "{\"models\": [{\"name\": \"a\", \"sizeMb\": 1}], \"connections\": [{\"from\": \"a\", \"to\": \"b\", \"volume\": 1}]}");
        Result r = run("assign", g.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("connections[0].to") && r.err().contains("'b'"), r.err());
    }

    @Test
    void negativeSizeAndBadOptionValueAreNamed() throws Exception {
        Path g = write("g.json", "{\"models\": [{\"name\": \"a\", \"sizeMb\": -5}]}");
        Result r = run("assign", g.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("models[0].sizeMb") && r.err().contains("-5"), r.err());
        Path ok = write("ok.json", "{\"models\": [{\"name\": \"a\", \"sizeMb\": 5}], " + DEVICES + "}");
        Result opt = run("assign", ok.toString(), "--option", "maxMemRatio=2");
        assertEquals(2, opt.code());
        assertTrue(opt.err().contains("maxMemRatio=2.0"), opt.err());
        Result unknown = run("assign", ok.toString(), "--option", "speed=11");
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().contains("speed"), unknown.err());
    }

    @Test
    void infeasibleExitsWithThreeAndTheNumbers() throws Exception {
        Path g = write("g.json", "{\"models\": [{\"name\": \"a\", \"sizeMb\": 600}, {\"name\": \"b\", \"sizeMb\": 600}],"
                + " \"devices\": [{\"name\": \"cuda:0\", \"memoryMb\": 700}], \"options\": {\"modelSizeMultiplier\": 1, \"maxMemRatio\": 1}}");
        Result r = run("assign", g.toString());
        assertEquals(3, r.code());
        assertTrue(r.err().contains("1200.0") && r.err().contains("700.0"), r.err());
    }

    @Test
    void unknownDeviceNameAsksForItsMemory() throws Exception {
        Path g = write("g.json", "{\"models\": [{\"name\": \"a\", \"sizeMb\": 1}]}");
        Result r = run("assign", g.toString(), "--devices", "tpu:7");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("tpu:7=MEGABYTES"), r.err());
    }

    @Test
    void pipeDreamImportReproducesTheBundledGraph() throws Exception {
        GraphSpec imported = PipeDreamImporter.read(Path.of("src/test/resources/pipedream/alexnet-graph.txt"));
        GraphSpec bundled = GraphJson.read(GRAPHS.resolve("alexnet.json"));
        assertEquals(bundled.models().size(), imported.models().size());
        for (GraphSpec.Model m : bundled.models()) {
            GraphSpec.Model i = imported.models().stream().filter(x -> x.name().equals(m.name())).findFirst().orElseThrow();
            assertEquals(m.sizeMb(), i.sizeMb(), 1e-5, m.name());
            assertEquals(m.complexity(), i.complexity(), 1e-9, m.name());
        }
        assertEquals(bundled.connections().size(), imported.connections().size());
        double bundledVolume = bundled.connections().stream().mapToDouble(GraphSpec.Connection::volume).sum();
        double importedVolume = imported.connections().stream().mapToDouble(GraphSpec.Connection::volume).sum();
        assertEquals(bundledVolume, importedVolume, 1e-4);
        for (int d = 0; d < bundled.devices().size(); d++) {
            assertEquals(bundled.devices().get(d).memoryMb(), imported.devices().get(d).memoryMb(), 1e-4);
        }
        Result r = run("assign", "src/test/resources/pipedream/alexnet-graph.txt", "--input-format", "pipedream",
                "--format", "json", "--option", "searchEffort=0.2");
        assertEquals(0, r.code(), r.err());
        assertTrue(new ObjectMapper().readTree(r.out()).get("feasible").asBoolean(), r.out());
    }

    @Test
    void malformedPipeDreamLineIsNamed() throws Exception {
        Path g = write("graph.txt", "node1 -- Input -- forward_compute_time=1, backward_compute_time=0, activation_size=x, parameter_size=0\n");
        Result r = run("assign", g.toString(), "--input-format", "pipedream");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("line 1") && r.err().contains("activation_size=x"), r.err());
    }

    @Test
    void fiveThousandNestedArraysAreALimitNotACrash() throws Exception {
        Path g = write("deep.json", "[".repeat(5000));
        assertOneLineError(run("assign", g.toString()), 2, "deep.json", "line 1", "limit of 16", "maxNestingDepth");
    }

    @Test
    void nestingDeeperThanAThousandInsideModelsIsALimit() throws Exception {
        Path arrays = write("arrays.json", "{\"models\": [" + "[".repeat(1200) + "]".repeat(1200) + "]}");
        assertOneLineError(run("assign", arrays.toString()), 2, "arrays.json", "maxNestingDepth");
        Path objects = write("objects.json", "{\"models\": [{\"name\": " + "{\"x\": ".repeat(1200) + "1" + "}".repeat(1200) + "}]}");
        assertOneLineError(run("assign", objects.toString()), 2, "objects.json", "maxNestingDepth");
    }

    @Test
    void twoHundredMegabyteStringIsRefusedByItsSizeBeforeReading() throws Exception {
        Path g = dir.resolve("huge.json");
        try {
            try (FileChannel ch = FileChannel.open(g, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap("{\"models\": [{\"name\": \"".getBytes(StandardCharsets.US_ASCII)));
                byte[] chunk = new byte[1 << 20];
                Arrays.fill(chunk, (byte) 'a');
                for (int i = 0; i < 200; i++) {
                    ch.write(ByteBuffer.wrap(chunk));
                }
                ch.write(ByteBuffer.wrap("\", \"sizeMb\": 1}]}".getBytes(StandardCharsets.US_ASCII)));
            }
            assertTrue(Files.size(g) > 200L << 20);
            assertOneLineError(run("assign", g.toString()), 2, "huge.json", "limit of 33554432 bytes");
        } finally {
            Files.deleteIfExists(g);
        }
    }

    @Test
    void longStringInASmallFileHitsTheStringLimit() throws Exception {
        Path g = write("long.json", "{\"models\": [{\"name\": \"" + "a".repeat(100_000) + "\", \"sizeMb\": 1}]}");
        assertOneLineError(run("assign", g.toString()), 2, "long.json", "limit of 4096 characters", "maxStringLength");
    }

    @Test
    void moreThanFourMillionTokensIsALimit() throws Exception {
        Path g = dir.resolve("tokens.json");
        try (var w = Files.newBufferedWriter(g)) {
            w.write("{\"models\": [0");
            for (int i = 0; i < 4_100_000; i++) {
                w.write(",0");
            }
            w.write("]}");
        }
        assertOneLineError(run("assign", g.toString()), 2, "tokens.json", "limit of 4000000 JSON tokens", "maxTokenCount");
    }

    @Test
    void documentLengthIsALimitForTextParsedDirectly() {
        GraphFormatException e = assertThrows(GraphFormatException.class,
                () -> GraphJson.parse("big", " ".repeat((int) InputFiles.MAX_FILE_BYTES + 1) + "{}"));
        assertTrue(e.getMessage().startsWith("big: ") && e.getMessage().contains("maxDocumentLength"), e.getMessage());
    }

    @Test
    void selfLoopIsRejectedInJsonAndPipeDream() throws Exception {
        Path g = write("g.json", "{\"models\": [{\"name\": \"a\", \"sizeMb\": 1}, {\"name\": \"b\", \"sizeMb\": 1}],"
                + " \"connections\": [{\"from\": \"a\", \"to\": \"b\", \"volume\": 1}, {\"from\": \"b\", \"to\": \"b\", \"volume\": 10}], " + DEVICES + "}");
        assertOneLineError(run("assign", g.toString()), 2, "g.json", "connections[1]", "self-loop", "'b'");
        Path pd = write("graph.txt", "node1 -- Input -- forward_compute_time=1, backward_compute_time=0, activation_size=8, parameter_size=0\n"
                + "node2 -- Linear -- forward_compute_time=1, backward_compute_time=1, activation_size=8, parameter_size=64\n"
                + "\tnode1 -- node2\n\tnode2 -- node2\n");
        assertOneLineError(run("assign", pd.toString(), "--input-format", "pipedream"), 2, "graph.txt", "line 4", "node2 -- node2", "self-loop");
    }

    @Test
    void debugAddsTheStackTraceAndOnlyThen() throws Exception {
        Path g = write("g.json", "{\"models\": [{\"name\": \"a\", \"sizeMb\": 1}], " + DEVICES + "}");
        assertOneLineError(run("assign", g.toString(), "--option", "maxMemRatio=5"), 2, "g.json", "maxMemRatio=5");
        Result debug = run("assign", g.toString(), "--option", "maxMemRatio=5", "--debug");
        assertEquals(2, debug.code());
        assertTrue(debug.err().startsWith("tessera: bad input: " + g + ": --option maxMemRatio=5")
                && debug.err().contains("IllegalArgumentException") && debug.err().contains("\tat "), debug.err());
    }

    @Test
    void unexpectedExceptionsAndErrorsAreOneLineWithExitOne() throws Exception {
        Path g = write("g.json", "{\"models\": [{\"name\": \"a\", \"sizeMb\": 1}], " + DEVICES + "}");
        for (Throwable failure : new Throwable[] {new IllegalStateException("boom"), new OutOfMemoryError("Java heap space")}) {
            for (boolean debug : new boolean[] {false, true}) {
                ByteArrayOutputStream err = new ByteArrayOutputStream();
                OutputStream failing = new OutputStream() { // stdout breaks while the placement is printed
                    @Override
                    public void write(int b) {
                        throwUnchecked(failure);
                    }
                };
                String[] args = debug ? new String[] {"assign", g.toString(), "--option", "iterations=5", "--debug"}
                        : new String[] {"assign", g.toString(), "--option", "iterations=5"};
                int code = AssignCli.run(new PrintStream(failing, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), args);
                String text = err.toString(StandardCharsets.UTF_8);
                String last = text.lines().filter(l -> l.startsWith("tessera: ")).reduce((a, b) -> b).orElse("");
                assertEquals(1, code, text);
                assertTrue(last.contains(failure.getMessage()), text);
                assertEquals(debug, text.contains("\tat "), text);
            }
        }
    }

    private static void throwUnchecked(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        throw (Error) t;
    }
}
