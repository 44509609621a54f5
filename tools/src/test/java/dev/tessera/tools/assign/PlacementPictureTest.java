package dev.tessera.tools.assign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.assigner.Placement;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** The SVG picture, read back with an XML parser: every device, every model, every connection across devices. */
class PlacementPictureTest {
    /** Six models of 400 MB, two 1 GB GPUs at maxMemRatio 0.5 and a CPU: at least two cuts. */
    static final GraphSpec GRAPH = GraphJson.parse("test", "{\"models\": ["
            + "{\"name\": \"embed <&>\", \"sizeMb\": 200}, {\"name\": \"enc'1\", \"sizeMb\": 200},"
            + " {\"name\": \"enc\\\"2\", \"sizeMb\": 200}, {\"name\": \"dec1\", \"sizeMb\": 200},"
            + " {\"name\": \"dec2\", \"sizeMb\": 200}, {\"name\": \"a-model-with-a-rather-long-name-to-fit\", \"sizeMb\": 200}],"
            + " \"connections\": [{\"from\": \"embed <&>\", \"to\": \"enc'1\", \"volume\": 50},"
            + " {\"from\": \"enc'1\", \"to\": \"enc\\\"2\", \"volume\": 40}, {\"from\": \"enc\\\"2\", \"to\": \"dec1\", \"volume\": 30},"
            + " {\"from\": \"dec1\", \"to\": \"dec2\", \"volume\": 20},"
            + " {\"from\": \"dec2\", \"to\": \"a-model-with-a-rather-long-name-to-fit\", \"volume\": 10}],"
            + " \"devices\": [{\"name\": \"cuda:0\", \"memoryMb\": 1000}, {\"name\": \"cuda:1\", \"memoryMb\": 1000},"
            + " {\"name\": \"cpu\", \"memoryMb\": 4000}], \"options\": {\"iterations\": 50, \"maxMemRatio\": 0.5}}");

    static Placement placement;

    @BeforeAll
    static void place() {
        placement = GRAPH.toBuilder().build().placement();
        assertTrue(placement.crossings().size() >= 2, "the test needs cuts: " + placement.crossings());
    }

    static Document parse(String xml) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        return f.newDocumentBuilder().parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
    }

    static List<Element> byClass(Document d, String cls) {
        List<Element> out = new ArrayList<>();
        NodeList all = d.getElementsByTagNameNS("*", "*");
        for (int i = 0; i < all.getLength(); i++) {
            Element e = (Element) all.item(i);
            if (List.of(e.getAttribute("class").split(" ")).contains(cls)) {
                out.add(e);
            }
        }
        return out;
    }

    @Test
    void everyDeviceHasAColumnWithItsNameAndBothBars() throws Exception {
        Document d = parse(PlacementPicture.svg(GRAPH, placement, "test"));
        assertEquals("svg", d.getDocumentElement().getLocalName());
        List<Element> devices = byClass(d, "device");
        assertEquals(List.of("cuda:0", "cuda:1", "cpu"), devices.stream().map(e -> e.getAttribute("data-device")).toList());
        for (Element device : devices) {
            assertTrue(device.getTextContent().contains(device.getAttribute("data-device")), device.getTextContent());
            assertEquals(countModels(device) + 2, device.getElementsByTagNameNS("*", "g").getLength()); // + the bars
        }
        assertEquals(3, byClass(d, "memory-bar").size());
        assertEquals(3, byClass(d, "compute-bar").size());
    }

    /** The child groups of a device column: its models, a memory bar and a compute bar. */
    private static int countModels(Element device) {
        NodeList groups = device.getElementsByTagNameNS("*", "g");
        int models = 0;
        for (int i = 0; i < groups.getLength(); i++) {
            models += ((Element) groups.item(i)).getAttribute("class").equals("model") ? 1 : 0;
        }
        return models;
    }

    @Test
    void everyModelIsABoxInItsDevicesColumnNamedInFull() throws Exception {
        Document d = parse(PlacementPicture.svg(GRAPH, placement, "test"));
        Map<String, String> where = placement.assignmentByName();
        List<Element> models = byClass(d, "model");
        assertEquals(GRAPH.models().size(), models.size());
        Set<String> seen = new HashSet<>();
        for (Element m : models) {
            String name = m.getAttribute("data-model");
            assertEquals(where.get(name), m.getAttribute("data-device"), name);
            assertEquals(where.get(name), ((Element) m.getParentNode()).getAttribute("data-device"), name);
            assertTrue(m.getTextContent().contains(name), m.getTextContent());
            seen.add(name);
        }
        assertEquals(where.keySet(), seen);
    }

    @Test
    void everyConnectionAcrossDevicesIsACurveWithWidthByVolumeAndTheHeaviestLabelled() throws Exception {
        Document d = parse(PlacementPicture.svg(GRAPH, placement, "test"));
        Set<String> expected = new HashSet<>();
        for (Placement.Crossing c : placement.crossings()) {
            expected.add(c.from() + " -> " + c.to());
        }
        Set<String> drawn = new HashSet<>();
        double widest = 0;
        String widestVolume = null;
        for (Element cut : byClass(d, "cut")) {
            drawn.add(cut.getAttribute("data-from") + " -> " + cut.getAttribute("data-to"));
            double width = Double.parseDouble(cut.getAttribute("stroke-width"));
            if (width > widest) {
                widest = width;
                widestVolume = cut.getAttribute("data-volume");
            }
        }
        assertEquals(expected, drawn);
        double heaviest = placement.crossings().stream().mapToDouble(Placement.Crossing::volume).max().orElseThrow();
        assertEquals(heaviest, Double.parseDouble(widestVolume));
        assertEquals(Math.min(PlacementPicture.LABELLED, expected.size()), byClass(d, "cut-label").size());
    }

    @Test
    void topologicalOrderFollowsTheConnectionsAndKeepsFileOrderOtherwise() {
        GraphSpec g = GraphJson.parse("t", "{\"models\": [{\"name\": \"c\", \"sizeMb\": 1}, {\"name\": \"b\", \"sizeMb\": 1},"
                + " {\"name\": \"a\", \"sizeMb\": 1}, {\"name\": \"x\", \"sizeMb\": 1}, {\"name\": \"y\", \"sizeMb\": 1}],"
                + " \"connections\": [{\"from\": \"a\", \"to\": \"b\", \"volume\": 1}, {\"from\": \"b\", \"to\": \"c\", \"volume\": 1},"
                + " {\"from\": \"x\", \"to\": \"y\", \"volume\": 1}, {\"from\": \"y\", \"to\": \"x\", \"volume\": 1}]}");
        assertEquals(List.of("a", "b", "c", "x", "y"), PlacementPicture.topologicalOrder(g));
    }
}
