package dev.tessera.pool.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.example.usercode.UserTasks.Point;
import com.example.usercode.UserTasks;
import dev.tessera.pool.ProcessLeakCheck;
import dev.tessera.pool.parallel.Parallel.Backend;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link Parallel} on worker JVMs with tasks from a user's package ({@code com.example.usercode}) and the
 * worker options of its builder: allow patterns, initializer, environment, JVM options, inner thread limits.
 */
@Tag("integration")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ParallelUserCodeProcessTest {
    @AfterEach
    void noWorkersLeft() {
        ProcessLeakCheck.assertAtMost(0);
    }

    @Test
    void userCodeAndWorkerOptionsReachTheWorkerJvms() {
        try (Parallel p = Parallel.builder().optNJobs(2).optBackend(Backend.PROCESSES)
                .optAllowPatterns("com.example.**")
                .optInitializer(UserTasks.recordInit(), "init-ran")
                .optEnv("TESSERA_TEST_ENV", "from-optEnv")
                .optJvmOptions("-Dtessera.test.flag=from-optJvmOptions")
                .optInnerMaxNumThreads(1)
                .build()) {
            List<String> seen = p.map(UserTasks.lookup(), List.of("TESSERA_TEST_ENV", "tessera.test.flag",
                    "tessera.test.init", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "ai.djl.pytorch.num_threads"));
            List<String> limits = List.of("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS").stream()
                    .map(v -> System.getenv(v) != null ? System.getenv(v) : "1").toList(); // the caller's own wins
            assertEquals(List.of("from-optEnv", "from-optJvmOptions", "init-ran", limits.get(0), limits.get(1),
                    limits.get(2), "1"), seen);
            assertEquals(List.of(new Point(1, 1), new Point(2, 2)), p.map(UserTasks.diagonal(), List.of(1, 2)),
                    "a user-package result type comes back");
        }
    }

    @Test
    @SuppressWarnings("try")
    void aScopesAllowPatternsReachTheWorkerJvms() {
        try (ParallelConfig.Scope s = Parallel.config().optAllowPatterns("com.example.**").apply();
                Parallel p = Parallel.builder().optNJobs(2).optBackend(Backend.PROCESSES).build()) {
            assertEquals(List.of(new Point(3, 3)), p.map(UserTasks.diagonal(), List.of(3)));
        }
    }
}
