package dev.tessera.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher script's choice of JDK, which it makes with bash alone (reading each JDK's release file): JAVA_HOME
 * when it is a JDK of version 25 or newer, else the newest under /usr/lib/jvm. Runs {@code ./tessera --help}, which
 * starts no JVM, with stand-in JDKs.
 */
class LauncherScriptTest {
    private static final Path LAUNCHER = Path.of("..", "tessera").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    @Test
    void takesJavaHomeWhenItsReleaseFileSaysTwentyFiveOrNewer() throws Exception {
        Path jdk = standInJdk("jdk-31", "JAVA_VERSION=\"31.0.2\"");
        assertEquals("Uses the JDK at: " + jdk, lastLine(jdk.toString()));
        assertEquals("Uses the JDK at: " + jdk, lastLine(jdk + "/"), "a trailing slash is dropped");
    }

    @Test
    void looksFurtherWhenJavaHomeIsTooOldNotAJdkOrMissing() throws Exception {
        String found = lastLine(null);
        assertTrue(found.startsWith("Uses the JDK at: /usr/lib/jvm/"), found);
        Path old = standInJdk("jdk-17", "IMPLEMENTOR=\"x\"\nJAVA_VERSION=\"17.0.9\"");
        assertEquals(found, lastLine(old.toString()));
        Path jre = standInJdk("jre-31", "JAVA_VERSION=\"31\"");
        Files.delete(jre.resolve("bin/javac"));
        assertEquals(found, lastLine(jre.toString()), "a runtime without javac is not a JDK");
        assertEquals(found, lastLine(dir.resolve("nothing-here").toString()));
    }

    /** A directory with executable bin/java and bin/javac (never run: the release file answers) and a release file. */
    private Path standInJdk(String name, String release) throws IOException {
        Path jdk = dir.resolve(name);
        Files.createDirectories(jdk.resolve("bin"));
        for (String tool : new String[] {"java", "javac"}) {
            Path p = Files.writeString(jdk.resolve("bin").resolve(tool), "#!/bin/sh\nexit 1\n");
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Files.writeString(jdk.resolve("release"), release + "\n");
        return jdk;
    }

    /** The last line of {@code ./tessera --help} run with JAVA_HOME set to {@code javaHome} (unset when null). */
    private static String lastLine(String javaHome) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", LAUNCHER.toString(), "--help").redirectErrorStream(true);
        if (javaHome == null) {
            pb.environment().remove("JAVA_HOME");
        } else {
            pb.environment().put("JAVA_HOME", javaHome);
        }
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the launcher did not exit");
        String text = new String(out, StandardCharsets.UTF_8).strip();
        assertEquals(0, p.exitValue(), text);
        return text.substring(text.lastIndexOf('\n') + 1);
    }
}
