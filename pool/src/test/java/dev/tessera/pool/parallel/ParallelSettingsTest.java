package dev.tessera.pool.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Parallel's settings are concluded once, from the builder and one captured environment, and never read again. */
class ParallelSettingsTest {
    private static ParallelSettings conclude(Parallel.Builder b, ParallelSettings.Environment env) {
        ParallelSettings.Choice choice = ParallelSettings.choose(b, env);
        choice.backend().close();
        return ParallelSettings.conclude(b, env, choice);
    }

    @Test
    void resolutionDependsOnlyOnTheCapturedEnvironment() {
        Parallel.Builder b = Parallel.builder().optNJobs(8).optBackend(Parallel.Backend.PROCESSES);
        ParallelSettings top = conclude(b, new ParallelSettings.Environment(null, 0, 16));
        assertEquals("processes", top.backendName());
        assertEquals(8, top.nJobs());
        ParallelSettings inWorker = conclude(b, new ParallelSettings.Environment(null, 1, 2));
        assertEquals("threads", inWorker.backendName(), "processes become threads one level down");
        assertEquals(2, inWorker.nJobs(), "capped at the worker's CPU share");
        assertEquals("sequential", conclude(b, new ParallelSettings.Environment(null, 2, 2)).backendName());
        assertEquals(15, conclude(Parallel.builder().optNJobs(-2), new ParallelSettings.Environment(null, 0, 16)).nJobs());
    }

    @Test
    @SuppressWarnings("try")
    void scopeValuesAreCapturedAtBuildAndCarriedToTheBackend() {
        List<String> messages = new ArrayList<>();
        Parallel p;
        try (ParallelConfig.Scope s = Parallel.config().optVerbose(10).optTimeout(Duration.ofSeconds(30))
                .optAllowPatterns("org.example.lib.**").apply()) {
            p = Parallel.builder().optNJobs(2).optBackend(Parallel.Backend.THREADS).optProgressSink(messages::add)
                    .optAllowPatterns("com.example.app.**").build();
        }
        try (p; ParallelConfig.Scope later = Parallel.config().optVerbose(0).optNJobs(5).apply()) {
            assertEquals(List.of(2, 4), p.map((Integer x) -> 2 * x, List.of(1, 2)));
            assertEquals(2, p.nJobs(), "a scope entered after build changes nothing");
            assertTrue(messages.stream().anyMatch(m -> m.contains("Using backend THREADS with 2 concurrent workers")),
                    "verbose=10 from the build-time scope: " + messages);
        }
        try (ParallelConfig.Scope s = Parallel.config().optAllowPatterns("org.example.lib.**").apply()) {
            Parallel.Builder b = Parallel.builder().optNJobs(2).optAllowPatterns("com.example.app.**");
            ParallelSettings settings = conclude(b, ParallelSettings.Environment.capture());
            assertEquals(List.of("com.example.app.**", "org.example.lib.**"), settings.backendSettings().allowPatterns());
            assertEquals(2, settings.backendSettings().nJobs());
        }
    }

    @Test
    @SuppressWarnings("try")
    void maxNbytesComesFromTheBuilderElseTheScopeElseOneMebibyte() {
        ParallelSettings.Environment top = new ParallelSettings.Environment(null, 0, 4);
        assertEquals(1L << 20, conclude(Parallel.builder(), top).backendSettings().maxNbytes());
        try (ParallelConfig.Scope s = Parallel.config().optMaxNbytes(1000).apply()) {
            ParallelSettings.Environment env = ParallelSettings.Environment.capture();
            assertEquals(1000, conclude(Parallel.builder(), env).backendSettings().maxNbytes());
            assertEquals(7, conclude(Parallel.builder().optMaxNbytes(7), env).backendSettings().maxNbytes());
        }
    }

    @Test
    void maxNbytesIsValidated() {
        for (Runnable r : List.<Runnable>of(() -> Parallel.builder().optMaxNbytes(-1),
                () -> Parallel.config().optMaxNbytes(-1))) {
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    r::run);
            assertTrue(e.getMessage().startsWith("maxNbytes=-1 (expected >= 0"), e.getMessage());
        }
    }
}
