package dev.tessera.distributed.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class KeyTableTest {
    private final KeyTable t = new KeyTable();

    @Test
    void firstWriterWinsAndOnlyTheHolderRemoves() {
        assertTrue(t.apply(KeyTable.PAIR, "g", "k", "a", new byte[] {1}, ""));
        assertFalse(t.apply(KeyTable.PAIR, "g", "k", "b", new byte[] {2}, ""));
        assertArrayEquals(new byte[] {1}, t.pair("g", "k").orElseThrow().value());
        assertTrue(t.apply(KeyTable.PAIR, "other", "k", "b", new byte[] {2}, ""), "groups are separate");
        assertTrue(t.apply(KeyTable.REGISTER, "g", "k", "b", null, ""), "pairs and services are separate");
        assertFalse(t.apply(KeyTable.UNPAIR, "g", "k", "b", null, ""));
        assertTrue(t.apply(KeyTable.UNPAIR, "g", "k", "a", null, ""));
        assertTrue(t.pair("g", "k").isEmpty());
        assertFalse(t.apply(KeyTable.DEREGISTER, "g", "k", "a", null, ""));
        assertEquals("b", t.service("g", "k").orElseThrow().owner());
    }

    @Test
    void aDepartedMembersEntriesGoEverywhereAndDropClearsOneGroup() {
        t.apply(KeyTable.PAIR, "g", "p", "a", new byte[0], "");
        t.apply(KeyTable.REGISTER, "g", "s", "a", null, "");
        t.apply(KeyTable.PAIR, "h", "p", "a", new byte[0], "");
        t.apply(KeyTable.PAIR, "g", "q", "b", new byte[0], "");
        assertTrue(t.apply(KeyTable.DROP, "h", "*", "a", null, ""));
        assertTrue(t.pair("h", "p").isEmpty());
        assertTrue(t.pair("g", "p").isPresent());
        t.departed("a");
        assertTrue(t.pair("g", "p").isEmpty());
        assertTrue(t.service("g", "s").isEmpty());
        assertTrue(t.pair("g", "q").isPresent(), "b's entry stays");
    }

    @Test
    void unknownChangesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> t.apply((byte) 42, "g", "k", "a", null, ""));
    }

    @Test
    void framesRoundTripAndTruncatedOnesAreRejected() {
        Frame f = new Frame(Frame.TABLE, KeyTable.PAIR, 7, "gruppe-ü", "key", "com.example.**", new byte[] {1, 2, 3});
        byte[] b = f.toBytes();
        Frame back = Frame.parse(b, 0, b.length);
        assertEquals(f.kind(), back.kind());
        assertEquals(f.op(), back.op());
        assertEquals(7, back.id());
        assertEquals("gruppe-ü", back.group());
        assertEquals("com.example.**", back.allowances());
        assertArrayEquals(new byte[] {1, 2, 3}, back.payload());
        assertThrows(IllegalArgumentException.class, () -> Frame.parse(b, 0, 12));
        assertThrows(IllegalArgumentException.class, () -> Frame.parse(new byte[] {99, 0}, 0, 2));
    }
}
