package dev.tessera.sharedmem.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.sharedmem.internal.FileTrust;
import dev.tessera.sharedmem.internal.SegmentKind;
import org.junit.jupiter.api.Test;

class StoreFilesTest {

    @Test
    void storeIndexNamesCarryTheCreatorsUid() {
        String expected = "tessera-store-" + FileTrust.selfUid() + "-named";
        assertEquals(expected, StoreFiles.fileName("named"));
        assertTrue(StoreFiles.isFileName(expected));
        assertEquals("named", StoreFiles.storeNameOf(expected));
        assertEquals("x-named", StoreFiles.storeNameOf("tessera-store-1000-x-named"));
        assertFalse(StoreFiles.isFileName("tessera-store-named"), "the old, squattable form");
    }

    @Test
    void theStoreIsTheRegisteredSegmentKindThatOwnsItsFiles() {
        SegmentKind kind = SegmentKind.owning(StoreFiles.fileName("named"));
        assertTrue(kind instanceof StoreSegmentKind, "found through META-INF/services: " + SegmentKind.registered());
        assertEquals(kind, SegmentKind.of(StoreSegments.KIND));
        assertEquals("named", kind.holderNameOf(StoreFiles.fileName("named")));
        assertNull(SegmentKind.owning("tessera-0123456789abcdef0123456789abcdef"), "segment names stay the segments'");
    }
}
