package dev.tessera.sharedmem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.sharedmem.testing.NoNd4jMain;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** ND4J is an optional dependency: without it on the classpath the codec and tensors work, INDArray views say why not. */
@ExtendWith(ShmLeakCheck.class)
class WithoutNd4jTest {
    @Test
    void codecAndTensorsWorkWithoutNd4jOnTheClasspath() throws Exception {
        String classpath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> !e.contains("nd4j") && !e.contains("javacpp") && !e.contains("openblas"))
                .collect(Collectors.joining(File.pathSeparator));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED",
                "-Dtessera.shm.dir=" + ShmLeakCheck.directory(), "-cp", classpath, NoNd4jMain.class.getName())
                .redirectErrorStream(true).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child finished");
        List<String> out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        assertEquals(0, p.exitValue(), String.join("\n", out));
        assertTrue(out.contains("COPY [1, 2] 2.5") && out.contains("SHARE [1, 2] 2.5"), String.join("\n", out));
        assertTrue(out.stream().anyMatch(l -> l.startsWith("INDARRAY ") && l.contains("nd4j-native")), String.join("\n", out));
    }
}
