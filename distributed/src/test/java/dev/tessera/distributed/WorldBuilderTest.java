package dev.tessera.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The builder's and the environment's checks, which need no second JVM. */
class WorldBuilderTest {
    private static String message(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void settersRejectBadValuesNamingThem() {
        assertEquals("rank=-1 (expected >= 0)", message(() -> World.builder().setRank(-1)));
        assertEquals("worldSize=0 (expected >= 1)", message(() -> World.builder().setWorldSize(0)));
        assertEquals("name=' ' (expected a non-blank member name)", message(() -> World.builder().setName(" ")));
        assertEquals("coordinator='nope' (expected host:port)", message(() -> World.builder().optCoordinator("nope")));
        assertTrue(message(() -> World.builder().optCoordinator("127.0.0.1:70000")).contains("port 70000"));
        assertTrue(message(() -> World.builder().optFailureTimeout(Duration.ofMillis(100))).contains(">= 400 ms"));
        assertTrue(message(() -> World.builder().optRpcTimeout(Duration.ZERO)).startsWith("rpcTimeout=PT0S"));
        assertTrue(message(() -> World.builder().optAllowPatterns("*")).contains("allow pattern '*'"));
    }

    @Test
    void buildChecksHowTheOptionsCombine() {
        assertTrue(message(() -> World.builder().setName("a").setRank(2).setWorldSize(2).build())
                .contains("rank=2 (expected < worldSize=2)"));
        assertTrue(message(() -> World.builder().setRank(0).setWorldSize(2).build()).contains("required"));
        assertTrue(message(() -> World.builder().setName("a").setRank(0).setWorldSize(2)
                .optCoordinator("192.0.2.1:7800").build()).contains("is not an address of this host"));
    }

    @Test
    void theEnvironmentNamesTheMissingOrMalformedVariable() {
        assertTrue(message(() -> World.builder().fromEnvironment(Map.of(World.ENV_WORLD_SIZE, "2")))
                .startsWith("TESSERA_RANK is not set"));
        assertEquals("TESSERA_WORLD_SIZE='two' (expected an integer)", message(() -> World.builder()
                .fromEnvironment(Map.of(World.ENV_RANK, "0", World.ENV_WORLD_SIZE, "two"))));
        assertTrue(message(() -> World.builder().fromEnvironment(Map.of(World.ENV_RANK, "0", World.ENV_WORLD_SIZE, "2",
                World.ENV_COORDINATOR, "host-without-port"))).contains("coordinator='host-without-port'"));
    }

    @Test
    void currentFailsWithoutAWorld() {
        IllegalStateException e = assertThrows(IllegalStateException.class, World::current);
        assertTrue(e.getMessage().contains("no World is open"), e.getMessage());
    }
}
