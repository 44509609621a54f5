package dev.tessera.tools.assign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a user sees of the CLI on stderr and in a pipe, in a child JVM: no log line on a normal run (DJL's
 * start-up lines and the CUDA probe's warning stay hidden), DJL's lines with {@code --verbose}, and the demo's
 * output in order when stdout and stderr share one pipe.
 */
class QuietCliTest {
    /** A line as slf4j-simple writes it ("[main] INFO ai.djl...", "WARN ..."), or as java.util.logging does. */
    private static final Pattern LOG_LINE = Pattern.compile("(^|\\s|\\])(TRACE|DEBUG|INFO|WARN|WARNING|ERROR)\\s");
    private static final Path GRAPHS = Path.of("..", "samples", "graphs");

    @TempDir
    Path dir;

    private Path twoModels() throws Exception {
        return Files.writeString(dir.resolve("two.json"), "{\"models\": [{\"name\": \"enc\", \"sizeMb\": 300},"
                + " {\"name\": \"dec\", \"sizeMb\": 300}], \"connections\": [{\"from\": \"enc\", \"to\": \"dec\","
                + " \"volume\": 1}], \"devices\": [{\"name\": \"cuda:0\", \"memoryMb\": 1000}, {\"name\": \"cuda:1\","
                + " \"memoryMb\": 1000}, {\"name\": \"cpu\", \"memoryMb\": 4000}], \"options\": {\"iterations\": 50}}");
    }

    private static List<String> logLines(String text) {
        return text.lines().filter(l -> LOG_LINE.matcher(l).find()).toList();
    }

    @Test
    void aNormalRunWritesNoLogLineToStderr() throws Exception {
        CliProcess.Result r = CliProcess.run(dir, false, List.of(), "assign", twoModels().toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("communication"), r.out());
        assertEquals(List.of(), logLines(r.err()), r.err());
        assertTrue(!r.err().contains("CUDA") && !r.err().contains("ai.djl"), r.err());
    }

    /** The gradient method runs the relaxation even on two models (refined would enumerate them without DJL). */
    @Test
    void verboseShowsDjlsStartUpLinesButNotTheCudaProbesWarning() throws Exception {
        CliProcess.Result r = CliProcess.run(dir, false, List.of(), "assign", twoModels().toString(), "--verbose",
                "--method", "gradient");
        assertEquals(0, r.code(), r.err());
        assertTrue(logLines(r.err()).stream().anyMatch(l -> l.contains("ai.djl.pytorch")), r.err());
        assertTrue(!r.err().contains("Failed to detect GPU count"), r.err());
    }

    @Test
    void aLogLevelTheUserSetsWinsOverTheQuietDefault() throws Exception {
        CliProcess.Result r = CliProcess.run(dir, false, List.of("-Dorg.slf4j.simpleLogger.defaultLogLevel=info"),
                "assign", twoModels().toString(), "--method", "gradient");
        assertEquals(0, r.code(), r.err());
        assertTrue(logLines(r.err()).stream().anyMatch(l -> l.contains("ai.djl.pytorch")), r.err());
    }

    /**
     * Progress lines from the first step on ({@code tessera.progress.afterMillis=0}) go to stderr, the tables to
     * stdout, both into one pipe: each graph's header, table and cost line must come as one block, graphs in
     * order, with the progress lines of a graph before its block.
     */
    @Test
    void theDemoPrintsEachGraphsBlockWholeAndInOrderIntoOnePipe() throws Exception {
        Path graphs = Files.createDirectory(dir.resolve("graphs"));
        for (String name : List.of("alexnet", "vgg16")) {
            Files.copy(GRAPHS.resolve(name + ".json"), graphs.resolve(name + ".json"));
        }
        Files.copy(GRAPHS.resolve("optima.json"), graphs.resolve("optima.json"));
        CliProcess.Result r = CliProcess.run(dir, true, List.of("-Dtessera.progress.afterMillis=0"), "demo",
                graphs.toString(), "--pictures", dir.resolve("pictures").toString());
        assertEquals(0, r.code(), r.out());
        List<String> lines = r.out().lines().toList();
        int alexnet = lines.indexOf("== alexnet: 23 models, 23 connections");
        int vgg = lines.indexOf("== vgg16: 41 models, 41 connections");
        assertTrue(alexnet >= 0 && vgg > alexnet, r.out());
        assertTrue(lines.subList(0, alexnet).stream().anyMatch(l -> l.startsWith("alexnet: gradient")),
                "alexnet's progress comes before its block: " + r.out());
        assertBlock(lines, alexnet, r.out());
        assertBlock(lines, vgg, r.out());
        assertEquals(List.of(), logLines(r.out()), r.out());
        assertTrue(Files.exists(dir.resolve("pictures").resolve("alexnet.html")), "picture of alexnet");
        assertTrue(lines.getLast().startsWith("Pictures of the placements"), r.out());
    }

    /** From the header at {@code header}: the table, then the cost line, with no progress line between. */
    private static void assertBlock(List<String> lines, int header, String all) {
        assertTrue(lines.get(header + 1).startsWith("device"), all);
        int k = header + 2;
        while (k < lines.size() && !lines.get(k).startsWith("communication")) {
            assertTrue(!lines.get(k).contains(": gradient") && !lines.get(k).contains(": search"),
                    "progress inside the block: " + lines.get(k) + "\n" + all);
            k++;
        }
        assertTrue(k < lines.size(), "no cost line after " + lines.get(header) + "\n" + all);
    }
}
