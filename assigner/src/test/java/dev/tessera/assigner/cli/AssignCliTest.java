package dev.tessera.assigner.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AssignCliTest {
    private static final Path GRAPHS = Path.of("..", "samples", "graphs");
    private static final String DEVICES = "\"devices\": [{\"name\": \"cuda:0\", \"memoryMb\": 1000}, {\"name\": \"cuda:1\", \"memoryMb\": 1000}, {\"name\": \"cpu\", \"memoryMb\": 4000}]";

    @TempDir
    Path dir;

    record Result(int code, String out, String err) {}

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = AssignCli.run(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), args);
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
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
        assertTrue(root.get("seconds").asDouble() >= 0);
        assertEquals(0.0, root.get("cost").get("overflowMb").asDouble());
    }

    @Test
    void tableShowsDevicesBarsAndCrossings() {
        Result r = run("assign", GRAPHS.resolve("alexnet.json").toString(), "--option", "searchEffort=0.2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("cuda:3") && r.out().contains("[#") && r.out().contains("heaviest connections"), r.out());
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
}
