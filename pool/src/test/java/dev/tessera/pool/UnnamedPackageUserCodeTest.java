package dev.tessera.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.pool.parallel.Parallel;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tasks from the unnamed package (a single-file program's) run in worker JVMs with no option: no package pattern
 * can name that package, so the allow-list names the task's top-level class instead.
 */
@Timeout(120)
class UnnamedPackageUserCodeTest {
    @SuppressWarnings("unchecked")
    private static SerializableFunction<Integer, Object> doubler() throws ReflectiveOperationException {
        // a named package cannot import the unnamed one
        return (SerializableFunction<Integer, Object>) Class.forName("UnnamedPackageTasks").getMethod("doubler")
                .invoke(null);
    }

    @Test
    void unnamedPackageLambdaAndResultThroughProcessPool() throws Exception {
        try (ProcessPool pool = ProcessPool.builder().optWorkers(1).optStartTimeout(Duration.ofSeconds(60)).build()) {
            assertEquals("Doubled[value=42]", pool.apply(doubler(), 21).toString());
        }
    }

    @Test
    void unnamedPackageLambdaAndResultThroughParallelProcesses() throws Exception {
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend(Parallel.Backend.PROCESSES).build()) {
            assertEquals(List.of("Doubled[value=2]", "Doubled[value=4]"),
                    p.map(doubler(), List.of(1, 2)).stream().map(Object::toString).toList());
        }
    }
}
