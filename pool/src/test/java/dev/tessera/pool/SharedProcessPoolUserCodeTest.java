package dev.tessera.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.example.usercode.UserApp;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code Pools.processPool()} runs user-package lambdas with no option: in a child JVM, because the shared
 * pool lives until its JVM exits and would otherwise count as leaked workers in every later test.
 */
@Tag("integration")
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class SharedProcessPoolUserCodeTest {
    @Test
    void sharedProcessPoolRunsUserLambdas(@TempDir Path tmp) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> !a.startsWith("-agentlib:jdwp")).toList());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), UserApp.class.getName()));
        Path stdout = tmp.resolve("stdout");
        Process app = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT)
                .redirectOutput(stdout.toFile()).start();
        try {
            assertTrue(app.waitFor(60, TimeUnit.SECONDS), "the user app did not exit");
            String out = Files.readString(stdout, StandardCharsets.UTF_8);
            assertEquals(0, app.exitValue(), out);
            assertTrue(out.contains("RESULT 42 [2, 4, 6] Point[x=7, y=7]"), out);
        } finally {
            app.destroyForcibly();
        }
        ProcessLeakCheck.assertAtMost(0);
    }
}
