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
        assertEquals("0 Uses the JDK at: " + jdk, launch(jdk.toString()));
        assertEquals("0 Uses the JDK at: " + jdk, launch(jdk + "/"), "a trailing slash is dropped");
    }

    @Test
    void looksFurtherWhenJavaHomeIsTooOldNotAJdkOrMissing() throws Exception {
        String unset = launch(null); // this machine's answer without JAVA_HOME: a JDK under /usr/lib/jvm, or none
        assertTrue(unset.startsWith("0 Uses the JDK at: /usr/lib/jvm/") || unset.startsWith("1 tessera: no JDK 25"),
                unset);
        Path old = standInJdk("jdk-17", "IMPLEMENTOR=\"x\"\nJAVA_VERSION=\"17.0.9\"");
        assertEquals(unset, launch(old.toString()));
        Path jre = standInJdk("jre-31", "JAVA_VERSION=\"31\"");
        Files.delete(jre.resolve("bin/javac"));
        assertEquals(unset, launch(jre.toString()), "a runtime without javac is not a JDK");
        assertEquals(unset, launch(dir.resolve("nothing-here").toString()));
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

    /**
     * The exit code and the first line that names the JDK (or says there is none) of {@code ./tessera --help}, run
     * with JAVA_HOME set to {@code javaHome} (unset when null).
     */
    private static String launch(String javaHome) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", LAUNCHER.toString(), "--help").redirectErrorStream(true);
        if (javaHome == null) {
            pb.environment().remove("JAVA_HOME");
        } else {
            pb.environment().put("JAVA_HOME", javaHome);
        }
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the launcher did not exit");
        String text = new String(out, StandardCharsets.UTF_8);
        String line = text.lines().filter(l -> l.startsWith("Uses the JDK at: ") || l.startsWith("tessera: no JDK"))
                .findFirst().orElse("(neither line) " + text.strip());
        return p.exitValue() + " " + line;
    }
}
