package dev.tessera.tools.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.tools.assign.GraphJson;
import dev.tessera.tools.assign.GraphSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The graph files {@code bench cli} hands to the CLI hold the graphs {@code bench assign} places in process. */
class SyntheticGraphsTest {
    @Test
    void aWrittenGraphReadsBackTheSame() {
        for (GraphSpec g : List.of(SyntheticGraphs.layers(100, 4, 7), SyntheticGraphs.twoModels())) {
            GraphSpec back = GraphJson.parse("written", GraphJson.write(g));
            assertEquals(g.models(), back.models());
            assertEquals(g.connections(), back.connections());
            assertEquals(g.devices(), back.devices());
            assertEquals(g.options().keySet(), back.options().keySet());
            g.options().forEach((k, v) -> assertEquals(String.valueOf(v), String.valueOf(back.options().get(k)), k));
        }
    }

    @Test
    void theLayerGraphHasAChainPlusTwoEdgesPerModelAndMGpusAndACpu() {
        GraphSpec g = SyntheticGraphs.layers(1000, 16, 42);
        assertEquals(1000, g.models().size());
        assertEquals(999 + 2000, g.connections().size());
        assertEquals(16, g.devices().size());
        assertEquals("cpu", g.devices().getLast().name());
    }
}
