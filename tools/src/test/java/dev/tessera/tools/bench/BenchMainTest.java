package dev.tessera.tools.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code ./tessera bench} as a user meets it, in-process: every benchmark's {@code --help}, one clean line and exit 2
 * for each bad argument (checked before anything is measured, so nothing here runs a benchmark), and one line and
 * exit 1 when a benchmark fails.
 */
class BenchMainTest {
    static final List<String> NAMES = List.of("share", "pool", "queue", "assign", "dist", "server", "cli");

    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = BenchMain.run(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), args);
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Exit code 2, nothing on stdout, one line on stderr that names what is wrong and points to the help. */
    static void assertBadInput(Result r, String help, String... parts) {
        assertEquals(BenchMain.EXIT_BAD_INPUT, r.code(), r.err());
        assertEquals("", r.out(), "stdout");
        String line = r.err().strip();
        assertFalse(line.contains("\n") || line.contains("Exception") || line.contains("\tat "), "not one line: " + r.err());
        assertTrue(line.startsWith("tessera: bad input: "), line);
        assertTrue(line.endsWith("(see ./tessera " + help + " --help)"), line);
        for (String part : parts) {
            assertTrue(line.contains(part), "missing '" + part + "' in: " + line);
        }
    }

    @Test
    void theRegistryHasEveryBenchmarkTheLauncherNames() {
        assertEquals(NAMES, List.copyOf(BenchMain.BENCHES.keySet()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"share", "pool", "queue", "assign", "dist", "server", "cli"})
    void helpSaysWhatItMeasuresItsOptionsWithDefaultsAndItsJsonLine(String name) throws Exception {
        for (String[] args : List.of(new String[] {name, "--help"}, new String[] {name, "-h"},
                new String[] {name, "--format", "json", "--help"}, new String[] {name, "--no-such", "-h"})) {
            Result r = run(args);
            assertEquals(0, r.code(), String.join(" ", args) + ": " + r.err());
            assertEquals("", r.err(), "stderr");
            String help = r.out();
            assertTrue(help.startsWith("Usage: ./tessera bench " + name + " "), help);
            assertTrue(help.contains("\nOptions:\n") && help.contains("--format table|json"), help);
            assertTrue(help.contains("(default"), "no defaults in: " + help);
            assertTrue(help.contains("--debug") && help.contains("Exit codes: 0"), help);
            String json = help.substring(help.indexOf("\nJSON line"));
            String example = json.substring(json.indexOf('{'), json.indexOf('}', json.indexOf('{')) + 1)
                    .replaceAll("\\s*\\n\\s*", "");
            JsonNode line = new ObjectMapper().readTree(example);
            assertEquals(name, line.path("bench").asText(), example);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"--help", "-h", "help"})
    void theOverviewListsEveryBenchmark(String flag) {
        Result r = run(flag);
        assertEquals(0, r.code());
        assertEquals("", r.err());
        assertTrue(r.out().startsWith("Usage: ./tessera bench NAME"), r.out());
        for (String name : NAMES) {
            assertTrue(r.out().contains("\n  " + name + " "), name + " missing in: " + r.out());
        }
    }

    @Test
    void noNameOrAnUnknownNameIsBadInput() {
        assertBadInput(run(), "bench", "missing benchmark name", "share, pool, queue, assign, dist, server or cli");
        assertBadInput(run("nope"), "bench", "unknown benchmark 'nope'", "share, pool");
        assertBadInput(run("--format", "json"), "bench", "unknown benchmark '--format'");
    }

    static Stream<Arguments> badArguments() {
        return Stream.of(
                bad("share", List.of("--bogus"), "unknown argument '--bogus'", "--sizes LIST"),
                bad("share", List.of("--format", "xml"), "--format xml (expected table or json)"),
                bad("share", List.of("--format"), "--format needs a value (expected table or json)"),
                bad("share", List.of("--format", "--runs", "3"),
                        "--format needs a value (got the option --runs; expected table or json)"),
                bad("share", List.of("--runs", "--format", "json"), "--runs needs a value (got the option --format)"),
                bad("share", List.of("--sizes", "12XB"), "--sizes 12XB", "B, KB, MB or GB"),
                bad("share", List.of("--sizes", "1KB,0MB"), "--sizes 1KB,0MB", "> 0"),
                bad("share", List.of("--sizes", "99999999999GB"), "--sizes 99999999999GB"),
                bad("share", List.of("--modes", "stub,zip"), "mode 'zip'", "stub, copy or memcpy"),
                bad("share", List.of("--copy-via", "pipe"), "--copy-via pipe (expected staging or stream)"),
                bad("share", List.of("--runs", "0"), "--runs 0 (expected a whole number > 0)"),
                bad("share", List.of("--runs", "x"), "--runs x (expected a whole number > 0)"),
                bad("share", List.of("--warmup", "-1"), "--warmup -1 (expected a whole number >= 0)"),
                bad("pool", List.of("--bogus"), "unknown argument '--bogus'", "--quick"),
                bad("pool", List.of("--format", "yaml"), "--format yaml"),
                bad("pool", List.of("--quick", "extra"), "unknown argument 'extra'"),
                bad("queue", List.of("--cases", "64MB,nosuch"), "'nosuch' is in no case name", "latency-small-object"),
                bad("queue", List.of("--python"), "--python needs a value"),
                bad("queue", List.of("--python-script"), "--python-script needs a value"),
                bad("queue", List.of("--format", "csv"), "--format csv"),
                bad("queue", List.of("-q"), "unknown argument '-q'"),
                bad("assign", List.of("--bogus"), "unknown argument '--bogus'", "--seeds N"),
                bad("assign", List.of("--seeds", "0"), "--seeds 0 (expected a whole number > 0)"),
                bad("assign", List.of("--seeds"), "--seeds needs a value"),
                bad("assign", List.of("--seeds", "3", "--format", "json"), "--seeds with --format"),
                bad("assign", List.of("--large", "--seeds", "3"), "--seeds with --large"),
                bad("assign", List.of("--format", "JSON"), "--format JSON (expected table or json)"),
                bad("dist", List.of("--ranks", "1"), "--ranks 1 (expected a whole number >= 2)"),
                bad("dist", List.of("--ranks", "2,x"), "--ranks x"),
                bad("dist", List.of("--ranks", "2,17"), "--ranks 2,17 (expected world sizes of 2 to 16"),
                bad("dist", List.of("--rpc-only", "--death-only"), "--rpc-only with --death-only"),
                bad("dist", List.of("--bogus"), "unknown argument '--bogus'", "--death-only"),
                bad("server", List.of("--clients", "0"), "--clients 0 (expected a whole number > 0)"),
                bad("server", List.of("--cases", "nosuch"), "'nosuch' is in no case name", "grad-1M-4clients"),
                bad("server", List.of("--a3c-timeout", "0"), "--a3c-timeout 0"),
                bad("server", List.of("--bogus"), "unknown argument '--bogus'"),
                bad("cli", List.of("--runs", "0"), "--runs 0 (expected a whole number > 0)"),
                bad("cli", List.of("--runs"), "--runs needs a value"),
                bad("cli", List.of("--bogus"), "unknown argument '--bogus'", "--runs N"));
    }

    private static Arguments bad(String name, List<String> args, String... parts) {
        return Arguments.of(name, args, List.of(parts));
    }

    @ParameterizedTest(name = "bench {0} {1}")
    @MethodSource("badArguments")
    void aBadArgumentIsOneLineNamingItAndExitTwo(String name, List<String> args, List<String> parts) {
        String[] all = Stream.concat(Stream.of(name), args.stream()).toArray(String[]::new);
        Result r = run(all);
        assertBadInput(r, "bench " + name, parts.toArray(String[]::new));
        assertTrue(r.err().startsWith("tessera: bad input: bench " + name + ": "), r.err());
        assertFalse(r.err().contains("bench " + name + ": bench " + name), "the name twice: " + r.err());
    }

    @Test
    void debugAddsTheStackTraceToABadArgument() {
        Result r = run("cli", "--runs", "0", "--debug");
        assertEquals(BenchMain.EXIT_BAD_INPUT, r.code());
        assertTrue(r.err().startsWith("tessera: bad input: bench cli: --runs 0"), r.err());
        assertTrue(r.err().contains("BenchUsageException") && r.err().contains("\tat "), r.err());
    }

    /**
     * {@code bench cli} against a stand-in launcher that fails as {@code ./tessera assign} could: the benchmark
     * reports progress on stderr, then fails with one line naming the command and its exit status, exit code 1;
     * {@code --debug} adds the stack trace.
     */
    @Test
    void aFailingBenchmarkIsOneLineAndExitOne(@TempDir Path home) throws Exception {
        Path launcher = Files.writeString(home.resolve("tessera"), "#!/bin/sh\necho 'no JDK 25 found' >&2\nexit 3\n");
        Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwx------"));
        for (boolean debug : List.of(false, true)) {
            ByteArrayOutputStream progress = new ByteArrayOutputStream();
            Result r = withHomeAndStderr(home, progress, debug ? new String[] {"cli", "--runs", "1", "--debug"}
                    : new String[] {"cli", "--runs", "1"});
            assertEquals(BenchMain.EXIT_FAILED, r.code(), r.err());
            assertEquals("", r.out());
            String first = r.err().lines().findFirst().orElse("");
            assertTrue(first.startsWith("tessera: bench cli failed: IllegalStateException: ./tessera assign "
                    + "warm-up.json exited with 3: no JDK 25 found"), first);
            assertEquals(!debug, first.endsWith("(run again with --debug for the stack trace)"), first);
            assertEquals(debug, r.err().contains("\tat "), r.err());
            assertEquals(debug ? r.err().lines().count() : 1, r.err().lines().count(), r.err());
            assertTrue(progress.toString(StandardCharsets.UTF_8).matches("(?s)bench cli \\(\\d+ s\\): an untimed run.*"),
                    "progress: " + progress);
        }
    }

    @Test
    void aBenchmarkThatCannotFindItsFilesIsOneLineAndExitOne(@TempDir Path home) {
        Result r = withHomeAndStderr(home, new ByteArrayOutputStream(), new String[] {"cli"});
        assertEquals(BenchMain.EXIT_FAILED, r.code(), r.err());
        assertTrue(r.err().strip().startsWith("tessera: bench cli failed: IllegalStateException: no launcher at "
                + home.resolve("tessera")), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
    }

    /** Runs with {@code tessera.home} set to {@code home} and System.err (the progress lines) into {@code progress}. */
    private static Result withHomeAndStderr(Path home, ByteArrayOutputStream progress, String[] args) {
        String before = System.getProperty("tessera.home");
        PrintStream err = System.err;
        System.setProperty("tessera.home", home.toString());
        System.setErr(new PrintStream(progress, true, StandardCharsets.UTF_8));
        try {
            return run(args);
        } finally {
            System.setErr(err);
            if (before == null) {
                System.clearProperty("tessera.home");
            } else {
                System.setProperty("tessera.home", before);
            }
        }
    }
}
