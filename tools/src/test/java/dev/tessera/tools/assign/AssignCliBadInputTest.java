package dev.tessera.tools.assign;

import static dev.tessera.tools.assign.AssignCliTest.assertOneLineError;
import static dev.tessera.tools.assign.AssignCliTest.run;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Table-driven: each bad graph file, PipeDream file and option value exits 2 with one line that names the file and
 * the field, line, option or limit, and no stack trace.
 */
class AssignCliBadInputTest {
    private static final String DEVICES = "\"devices\": [{\"name\": \"cuda:0\", \"memoryMb\": 1000}, {\"name\": \"cpu\", \"memoryMb\": 4000}]";
    private static final String ONE_MODEL = "{\"models\": [{\"name\": \"a\", \"sizeMb\": 1}], " + DEVICES + "}";
    private static final String PD_NODE = "node1 -- Input -- forward_compute_time=1, backward_compute_time=0, activation_size=8, parameter_size=0\n";

    @TempDir
    Path dir;

    /** A graph whose one model has {@code model} as its fields, with the standard devices. */
    private static String model(String model) {
        return "{\"models\": [{" + model + "}], " + DEVICES + "}";
    }

    private static String twoModels(String connections) {
        return "{\"models\": [{\"name\": \"a\", \"sizeMb\": 1}, {\"name\": \"b\", \"sizeMb\": 1}], \"connections\": ["
                + connections + "], " + DEVICES + "}";
    }

    private static Arguments json(String what, String text, String... parts) {
        return Arguments.of(what, "g.json", text.getBytes(StandardCharsets.UTF_8), List.of(), List.of(parts));
    }

    static Stream<Arguments> badJsonFiles() {
        return Stream.of(
                Arguments.of("empty file", "g.json", new byte[0], List.of(), List.of("is empty")),
                json("only whitespace", " \n\t\n", "is empty"),
                Arguments.of("not UTF-8", "g.json", new byte[] {'{', '\n', '"', (byte) 0xFF, '"', '}'}, List.of(),
                        List.of("line 2", "not UTF-8", "0xFF", "offset 3")),
                Arguments.of("UTF-16", "g.json", "{}".getBytes(StandardCharsets.UTF_16), List.of(), List.of("not UTF-8", "offset 0")),
                json("top-level array", "[1, 2]", "(top level)", "expected a JSON object"),
                json("no models", "{\"models\": []}", "models", "non-empty array"),
                json("invalid JSON", "{\n\"models\": [\n{\"name\": \"a\" \"sizeMb\": 1}]}", "line 3", "invalid JSON"),
                json("duplicate key", "{\"models\": [{\"name\": \"a\", \"sizeMb\": 1}],\n\"models\": []}", "line 2", "Duplicate field 'models'"),
                json("trailing content", ONE_MODEL + "\n{\"models\": []}", "line 2", "Trailing token"),
                json("duplicate model names", "{\"models\": [{\"name\": \"a\", \"sizeMb\": 1}, {\"name\": \"a\", \"sizeMb\": 2}]}",
                        "models[1].name", "duplicate model name 'a'"),
                json("empty model name", model("\"name\": \"\", \"sizeMb\": 1"), "models[0].name", "non-empty string"),
                json("NaN literal", model("\"name\": \"a\", \"sizeMb\": NaN"), "line 1", "invalid JSON", "NaN"),
                json("NaN as a string", model("\"name\": \"a\", \"sizeMb\": \"NaN\""), "models[0].sizeMb", "expected a number", "NaN"),
                json("negative size", model("\"name\": \"a\", \"sizeMb\": -5"), "models[0].sizeMb", "-5"),
                json("huge size", model("\"name\": \"a\", \"sizeMb\": 1e300"), "models[0].sizeMb", "1.0E300", "0 to 1.0E30"),
                json("overflowing size", model("\"name\": \"a\", \"sizeMb\": 1e400"), "models[0].sizeMb", "0 to 1.0E30"),
                json("huge integer size", model("\"name\": \"a\", \"sizeMb\": 1" + "0".repeat(60)), "models[0].sizeMb", "0 to 1.0E30"),
                json("negative complexity", model("\"name\": \"a\", \"sizeMb\": 1, \"complexity\": -1"), "models[0].complexity", "-1"),
                json("size as a long string", model("\"name\": \"a\", \"sizeMb\": \"" + "x".repeat(1000) + "\""),
                        "models[0].sizeMb", "expected a number", "..."),
                json("negative traffic", twoModels("{\"from\": \"a\", \"to\": \"b\", \"volume\": -1}"), "connections[0].volume", "-1"),
                json("huge traffic", twoModels("{\"from\": \"a\", \"to\": \"b\", \"volume\": 1e308}"), "connections[0].volume", "1.0E308"),
                json("self-loop", twoModels("{\"from\": \"a\", \"to\": \"a\", \"volume\": 1}"), "connections[0]", "self-loop", "'a'"),
                json("connection to unknown model", twoModels("{\"from\": \"a\", \"to\": \"z\", \"volume\": 1}"), "connections[0].to", "'z'"),
                json("huge device memory", "{\"models\": [{\"name\": \"a\", \"sizeMb\": 1}], \"devices\": [{\"name\": \"cpu\", \"memoryMb\": 1e200}]}",
                        "devices[0].memoryMb", "1.0E200"),
                json("device index overflow", "{\"models\": [{\"name\": \"a\", \"sizeMb\": 1}], \"devices\": [{\"name\": \"cuda:99999999999\", \"memoryMb\": 5}]}",
                        "devices[0].name", "too large"),
                json("duplicate device", "{\"models\": [{\"name\": \"a\", \"sizeMb\": 1}], \"devices\": [{\"name\": \"cpu\", \"memoryMb\": 5}, {\"name\": \"cpu\", \"memoryMb\": 5}]}",
                        "devices[1].name", "duplicate device name 'cpu'"),
                json("huge distance", "{\"models\": [{\"name\": \"a\", \"sizeMb\": 1}], " + DEVICES + ", \"distance\": [[0, 1e99], [1, 0]]}",
                        "distance[0][1]", "1.0E99"),
                json("bad option value in the file", "{\"models\": [{\"name\": \"a\", \"sizeMb\": 1}], \"options\": {\"maxMemRatio\": 5}}",
                        "options.maxMemRatio", "maxMemRatio=5"),
                json("fractional seed in the file", "{\"models\": [{\"name\": \"a\", \"sizeMb\": 1}], \"options\": {\"seed\": 1.5}}",
                        "options.seed", "seed=1.5", "integer"),
                json("unknown option in the file", "{\"models\": [{\"name\": \"a\", \"sizeMb\": 1}], \"options\": {\"speed\": 5}}",
                        "options", "unknown field 'speed'"),
                json("long number", model("\"name\": \"a\", \"sizeMb\": 1" + "0".repeat(200)), "line 1", "maxNumberLength"),
                json("long field name", model("\"" + "k".repeat(1000) + "\": 1"), "line 1", "maxNameLength"),
                json("deep nesting in a connection", twoModels("{\"from\": " + "[".repeat(40)), "line 1", "maxNestingDepth"),
                Arguments.of("PipeDream: empty", "graph.txt", new byte[0], List.of("--input-format", "pipedream"), List.of("no node lines")),
                Arguments.of("PipeDream: not UTF-8", "graph.txt", new byte[] {'n', (byte) 0xC3, '\n'}, List.of("--input-format", "pipedream"),
                        List.of("line 1", "not UTF-8", "0xC3")),
                Arguments.of("PipeDream: huge metric", "graph.txt",
                        PD_NODE.replace("parameter_size=0", "parameter_size=1e300").getBytes(StandardCharsets.UTF_8),
                        List.of("--input-format", "pipedream"), List.of("line 1", "parameter_size=1e300")),
                Arguments.of("PipeDream: self-loop", "graph.txt", (PD_NODE + "\tnode1 -- node1\n").getBytes(StandardCharsets.UTF_8),
                        List.of("--input-format", "pipedream"), List.of("line 2", "self-loop", "node1 -- node1")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badJsonFiles")
    void badFileIsOneLineNamingTheFileAndField(String what, String name, byte[] content, List<String> extraArgs, List<String> parts) throws Exception {
        Path f = dir.resolve(name);
        Files.write(f, content);
        List<String> args = new ArrayList<>(List.of("assign", f.toString()));
        args.addAll(extraArgs);
        List<String> expected = new ArrayList<>(parts);
        expected.add(f.toString());
        assertOneLineError(run(args.toArray(String[]::new)), 2, expected.toArray(String[]::new));
    }

    static Stream<Arguments> badOptions() {
        return Stream.of(
                Arguments.of(List.of("--option", "maxMemRatio=5"), List.of("--option maxMemRatio=5", "expected 0 < x <= 1")),
                Arguments.of(List.of("--option", "maxMemRatio=NaN"), List.of("--option maxMemRatio=NaN")),
                Arguments.of(List.of("--option", "cpuWeight=-1"), List.of("--option cpuWeight=-1", "cpuWeight=-1.0")),
                Arguments.of(List.of("--option", "iterations=1e10"), List.of("--option iterations=1e10", "integer")),
                Arguments.of(List.of("--option", "modelSizeMultiplier=1e300"), List.of("--option modelSizeMultiplier=1e300", "1.0E30")),
                Arguments.of(List.of("--option", "speed=11"), List.of("--option speed=11", "unknown option 'speed'", "maxMemRatio")),
                Arguments.of(List.of("--option", "maxMemRatio"), List.of("--option", "KEY=VALUE", "maxMemRatio")),
                Arguments.of(List.of("--seed", "1.5"), List.of("--seed 1.5", "integer")),
                Arguments.of(List.of("--seed", "99999999999999999999"), List.of("--seed 99999999999999999999", "integer")),
                Arguments.of(List.of("--method", "bogus"), List.of("--method bogus", "refined or gradient")),
                Arguments.of(List.of("--format", "xml"), List.of("--format xml", "[table, json, svg, html]")),
                Arguments.of(List.of("--input-format", "csv"), List.of("--input-format csv", "[json, pipedream]")),
                Arguments.of(List.of("--devices", "cuda:0=x"), List.of("--devices cuda:0=x", "memory 'x' is not a number")),
                Arguments.of(List.of("--devices", "cuda:0=-5"), List.of("--devices cuda:0=-5", "-5")),
                Arguments.of(List.of("--devices", "cuda:0=1e99"), List.of("--devices cuda:0=1e99", "1.0E30")),
                Arguments.of(List.of("--devices", "cuda:0@x"), List.of("--devices cuda:0@x", "power 'x'")),
                Arguments.of(List.of("--devices", "cuda:0,cuda:0"), List.of("--devices cuda:0", "given twice")),
                Arguments.of(List.of("--devices", "=5"), List.of("--devices =5", "empty device name")),
                Arguments.of(List.of("--devices", "cuda:0,,cpu"), List.of("--devices ''", "empty device name")),
                Arguments.of(List.of("--bogus"), List.of("Unknown option", "--bogus")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badOptions")
    void badOptionIsOneLineNamingTheFileTheOptionAndTheValue(List<String> options, List<String> parts) throws Exception {
        Path f = dir.resolve("ok.json");
        Files.writeString(f, ONE_MODEL);
        List<String> args = new ArrayList<>(List.of("assign", f.toString()));
        args.addAll(options);
        List<String> expected = new ArrayList<>(parts);
        expected.add(f.toString());
        assertOneLineError(run(args.toArray(String[]::new)), 2, expected.toArray(String[]::new));
    }

    @Test
    void missingFileDirectoryAndDeviceFileAreNamed() throws Exception {
        assertOneLineError(run("assign", dir.resolve("nope.json").toString()), 2, "nope.json", "no such file");
        assertOneLineError(run("assign", dir.toString()), 2, dir.toString(), "is a directory");
        assertOneLineError(run("assign", "/dev/zero"), 2, "/dev/zero", "more than 33554432 bytes");
        assertOneLineError(run("demo", dir.resolve("nope").toString()), 2, "nope", "no such directory");
    }

    @Test
    void unreadableFileIsNamed() throws Exception {
        Path f = dir.resolve("secret.json");
        Files.writeString(f, ONE_MODEL);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("---------"));
        assumeFalse(Files.isReadable(f), "running as root: every file is readable");
        assertOneLineError(run("assign", f.toString()), 2, "secret.json", "permission denied");
    }

    @Test
    void missingGraphAndMissingCommandAreOneLine() {
        assertOneLineError(run("assign", "--format", "json"), 2, "Missing required parameter: 'GRAPH'", "tessera assign --help");
        assertOneLineError(run(), 2, "missing command");
    }
}
