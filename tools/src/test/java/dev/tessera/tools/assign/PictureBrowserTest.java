package dev.tessera.tools.assign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tessera.assigner.Placement;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTML page in a real browser (Debian's headless {@code chromium}; skipped where it is not installed): it
 * renders with no console message, and the rendered page names every device and every model. The screenshot is
 * kept in {@code target/} for a person to look at.
 */
@Tag("integration")
class PictureBrowserTest {
    private static final long TIMEOUT_SECONDS = 120;

    @TempDir
    Path dir;

    record Browser(String dom, String log) {}

    static Path chromium() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            for (String name : List.of("chromium", "chromium-browser")) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    /** Loads {@code page} headless; returns the DOM after scripts ran and the browser's log (console included). */
    Browser open(Path page, String... extra) throws IOException, InterruptedException {
        Path browser = chromium();
        assumeTrue(browser != null, "chromium is not installed");
        List<String> cmd = new ArrayList<>(List.of(browser.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--user-data-dir=" + dir.resolve("profile"), "--enable-logging=stderr", "--v=0"));
        cmd.addAll(List.of(extra));
        cmd.add(page.toUri().toString());
        Path out = dir.resolve("dom.html");
        Path log = dir.resolve("browser.log");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(log.toFile()).start();
        try {
            assertTrue(p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS), "chromium ran past " + TIMEOUT_SECONDS + " s");
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        assertEquals(0, p.exitValue(), Files.readString(log));
        return new Browser(Files.readString(out), Files.readString(log));
    }

    private static List<String> consoleLines(String log) {
        return log.lines().filter(l -> l.contains("CONSOLE") || l.contains("Uncaught")).toList();
    }

    /** Text as a browser serialises it in a DOM dump: only {@code & < >} escaped. */
    private static String htmlText(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    private Path page(String html) throws IOException {
        return Files.writeString(dir.resolve("page.html"), html);
    }

    @Test
    void thePageRendersWithoutConsoleMessagesAndShowsEveryDeviceAndModel() throws Exception {
        GraphSpec g = PlacementPictureTest.GRAPH;
        Placement p = g.toBuilder().build().placement();
        Path page = page(PlacementPicture.html(g, p, "six models"));
        Browser b = open(page, "--dump-dom");
        assertEquals(List.of(), consoleLines(b.log()), b.log());
        for (var d : p.devices()) {
            assertTrue(b.dom().contains(">" + d.name() + "<"), d.name() + " not shown");
        }
        for (String m : p.models()) {
            assertTrue(b.dom().contains(">" + htmlText(m) + "<"), m + " not shown");
        }
        Path shot = Path.of("target", "picture-browser-test.png").toAbsolutePath();
        Files.deleteIfExists(shot);
        open(page, "--screenshot=" + shot, "--window-size=1000,700", "--hide-scrollbars");
        assertTrue(Files.size(shot) > 5_000, "a screenshot of some substance: " + Files.size(shot) + " bytes");
    }

    /** The check itself: a page with a script error is caught. */
    @Test
    void aPageWithAScriptErrorIsCaught() throws Exception {
        Browser b = open(page("<!DOCTYPE html><html><body><p>x</p><script>notDefined();</script></body></html>"),
                "--dump-dom");
        assertTrue(!consoleLines(b.log()).isEmpty(), b.log());
    }
}
