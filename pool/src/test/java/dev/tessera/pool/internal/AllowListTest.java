package dev.tessera.pool.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDList;
import dev.tessera.pool.internal.protocol.TensorTransfer;
import java.io.IOException;
import java.io.InvalidClassException;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** One allow-list policy for both codecs: what sharedmem's tensor codec allows by default, a plain message allows too. */
class AllowListTest {
    private final TensorAwareCodec codec = Codecs.create(List.of(), TensorTransfer.of(false, null));

    @Test
    void plainMessagesAllowTheTensorCodecDefaults() throws IOException {
        // classes from TensorCodec's own default list, nested where no per-task allowance reaches them
        List<Object> values = new ArrayList<>(List.of(new NDList(), UUID.randomUUID(), BigDecimal.ONE,
                Duration.ofSeconds(3), new TreeMap<>(Map.of("a", 1)), Collections.unmodifiableList(List.of(1, 2)),
                List.of("x", "y", "z"), new java.util.AbstractMap.SimpleEntry<>("k", 2L)));
        Object back = codec.decode(codec.encode(List.of(values)));
        assertEquals(List.of(values).toString(), back.toString());
        assertTrue(((List<?>) ((List<?>) back).get(0)).get(0) instanceof NDList);
    }

    @Test
    void bothCodecsGetTheirPatternsFromTheOneList() {
        AllowList list = new AllowList(List.of("org.example.**"));
        List<String> patterns = list.patterns("com.example.app.**");
        assertTrue(patterns.containsAll(AllowList.DEFAULTS));
        assertEquals(List.of("org.example.**", "com.example.app.**"), patterns.subList(AllowList.DEFAULTS.size(), patterns.size()));
    }

    @Test
    void classesOutsideThePolicyStayRejected() throws IOException {
        byte[] bytes = codec.encode(List.of(new java.net.InetSocketAddress(1)));
        IOException e = assertThrows(InvalidClassException.class, () -> codec.decode(bytes));
        assertTrue(e.getMessage().contains("java.net.InetSocketAddress is not on the deserialization allow-list"),
                e.getMessage());
        assertFalse(AllowList.DEFAULTS.contains("java.**"));
    }
}
