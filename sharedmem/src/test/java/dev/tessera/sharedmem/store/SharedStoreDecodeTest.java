package dev.tessera.sharedmem.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.sharedmem.MalformedMessageException;
import dev.tessera.sharedmem.testing.HostileGraphs;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A value that another process planted in a store: {@code get} throws the codec's one exception, and in time. */
@ExtendWith(ShmLeakCheck.class)
class SharedStoreDecodeTest {
    record Planted(String payload) implements Serializable {}

    @Test
    void aPlantedNestedSetValueIsRefusedInsteadOfHangingEveryReader() {
        try (SharedStore store = SharedStore.open("planted")) {
            store.put("evil", HostileGraphs.nestedSets(40)); // HashSet and String are allowed by default
            store.put("fine", List.of("still", "readable"));
            MalformedMessageException e = assertTimeoutPreemptively(Duration.ofSeconds(20),
                    () -> assertThrows(MalformedMessageException.class, () -> store.get("evil")));
            assertEquals("maxHashWork", e.limit(), e.getMessage());
            assertEquals(List.of("still", "readable"), store.get("fine"));
        }
    }

    @Test
    void aValueOfAClassTheReaderDoesNotAllowIsAMalformedMessage() {
        try (SharedStore permissive = SharedStore.builder().setName("mixed")
                        .optAllowPatterns("dev.tessera.sharedmem.store.SharedStoreDecodeTest$Planted").build();
                SharedStore strict = SharedStore.open("mixed")) {
            permissive.put("p", new Planted("x"));
            assertEquals(new Planted("x"), permissive.get("p", Planted.class));
            MalformedMessageException e = assertThrows(MalformedMessageException.class, () -> strict.get("p"));
            assertTrue(e.getMessage().contains("SharedStoreDecodeTest$Planted, which the allow-list rejects"),
                    e.getMessage());
        }
    }

    @Test
    void theStoresDecodingLimitsApplyToGet() {
        try (SharedStore writer = SharedStore.open("limits");
                SharedStore reader = SharedStore.builder().setName("limits").optMaxReferences(500).build()) {
            writer.put("many", new ArrayList<>(Collections.nCopies(1_000, "x"))); // a value segment of its own
            MalformedMessageException e = assertThrows(MalformedMessageException.class, () -> reader.get("many"));
            assertEquals("maxReferences", e.limit(), e.getMessage());
            assertEquals(1_000, writer.get("many", List.class).size());
            assertThrows(IllegalArgumentException.class, () -> SharedStore.builder().optMaxHashWork(0));
        }
    }
}
