package dev.tessera.assigner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@link ModelAssigner#preloadEngine()}: it loads DJL's engine on its own thread, once, and returns at once. */
class EnginePreloadTest {
    @Test
    void preloadLoadsTheEngineInTheBackgroundAndASecondCallDoesNothing() throws InterruptedException {
        ModelAssigner.preloadEngine();
        ModelAssigner.preloadEngine();
        assertTrue(EnginePreload.await(Duration.ofSeconds(60)), "the engine did not load within 60 s");
        ModelAssigner.preloadEngine();
        assertEquals(1, EnginePreload.launched(), "loading threads launched");
    }
}
