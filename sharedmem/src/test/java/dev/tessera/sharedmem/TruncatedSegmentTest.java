package dev.tessera.sharedmem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.sharedmem.internal.SegmentMappings;
import dev.tessera.sharedmem.store.SharedStore;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Another process truncates a mapped segment file: that segment fails clearly, and everything else in this JVM
 * (the mapping sweeper, other segments, a store, closing) goes on as before.
 */
@Tag("integration")
@Timeout(60)
@ExtendWith(ShmLeakCheck.class)
class TruncatedSegmentTest {

    /** Truncates {@code file} to {@code size} bytes from a second process, as another user's tool might. */
    private static void truncateFromAnotherProcess(Path file, long size) throws Exception {
        Process p = new ProcessBuilder("truncate", "-s", Long.toString(size), file.toString())
                .redirectErrorStream(true).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "truncate did not finish");
        assertEquals(0, p.exitValue(), new String(p.getInputStream().readAllBytes()));
        assertEquals(size, Files.size(file));
    }

    /** Polls {@code condition} until it holds or 10 s pass; the sweeper runs every 100 ms. */
    private static void awaitTrue(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() - deadline < 0, "timed out waiting until " + what);
            java.util.concurrent.locks.LockSupport.parkNanos(5_000_000); // a bounded poll, not a synchronisation
        }
    }

    @Test
    void aTruncatedIdleMappingFailsAloneAndTheSweeperGoesOn() throws Exception {
        // an idle mapping: a persistent segment this JVM opened and closed again, still alive
        SharedTensor persistent = SharedTensor.builder().setDType(DType.INT64).setShape(512).optPersistent(true).build();
        TensorRef idleRef = persistent.ref();
        Path idleFile = idleRef.directory().resolve(idleRef.segmentName());
        persistent.close();
        // a mapping in use: a tensor this JVM holds while its file is truncated
        SharedTensor held = SharedTensor.allocate(DType.INT64, 512);
        Path heldFile = held.ref().directory().resolve(held.ref().segmentName());
        try {
            assertTrue(SegmentMappings.isCached(idleFile));
            truncateFromAnotherProcess(idleFile, 0);
            truncateFromAnotherProcess(heldFile, 100);

            // the sweeper touches the idle mapping's header, faults, drops that mapping and keeps going
            awaitTrue(() -> !SegmentMappings.isCached(idleFile), "the sweeper dropped the truncated mapping");

            // that segment alone fails, with a clear error (not an InternalError)
            InvalidTensorRefException e = assertThrows(InvalidTensorRefException.class, idleRef::open);
            assertTrue(e.getMessage().contains(idleFile.toString()) && e.getMessage().contains("truncated"),
                    e.getMessage());

            // everything else behaves normally: new segments, a store, closing, the sweeper
            try (SharedStore store = SharedStore.open("after-truncation")) {
                try (SharedTensor t = SharedTensor.allocate(DType.INT64, 64)) {
                    t.segment().set(ValueLayout.JAVA_LONG, 0, 7);
                    store.put("t", t);
                }
                TensorRef valueRef;
                try (SharedTensor got = store.getTensor("t")) {
                    assertEquals(7, got.segment().get(ValueLayout.JAVA_LONG, 0));
                    valueRef = got.ref();
                }
                Path valueFile = valueRef.directory().resolve(valueRef.segmentName());
                assertTrue(SegmentMappings.isCached(valueFile), "idle now, kept mapped while the store holds it");
                store.remove("t"); // its segment dies while this JVM keeps it mapped idle
                awaitTrue(() -> !SegmentMappings.isCached(valueFile), "the sweeper dropped the dead value's mapping");
                assertFalse(Files.exists(valueFile));
            }
            SharedTensor another = SharedTensor.builder().setDType(DType.INT8).setShape(8).optPersistent(true).build();
            Path anotherFile = another.ref().directory().resolve(another.ref().segmentName());
            another.close(); // a persistent tensor's close
            Files.delete(anotherFile);

            // the held tensor's file shrank too: closing it logs and does not throw
            held.close();
            assertFalse(held.isOpen());
        } finally {
            held.close();
            Files.deleteIfExists(idleFile);
            Files.deleteIfExists(heldFile);
        }
        assertEquals(List.of(), SegmentReaper.list(ShmLeakCheck.directory()));
    }

    @ParameterizedTest
    @ValueSource(longs = {0, 10, 4096})
    void openingASegmentWhoseFileShrankUnderItsMappingIsAClearError(long size) throws Exception {
        try (SharedSegment owner = SharedSegment.builder().setSize(1 << 16).build()) {
            truncateFromAnotherProcess(owner.path(), size);
            // this JVM still maps the segment (owner is open): the next open reuses that mapping's header, which
            // faults (size 0: no page left) or reads zeros past the end of the file (sizes 10, 4096)
            RuntimeException e = assertThrows(RuntimeException.class,
                    () -> SharedSegment.open(owner.directory(), owner.name()).close());
            assertTrue(e.getMessage().contains(owner.path().toString()) && e.getMessage().contains(size + " bytes")
                    && e.getMessage().contains("truncated"), e.getMessage());
            try (SharedSegment fresh = SharedSegment.builder().setSize(64).build();
                    SharedSegment again = SharedSegment.open(fresh.directory(), fresh.name())) {
                assertEquals(2, again.refCountVolatile(), "other segments are unaffected");
            }
        } finally {
            try (var files = Files.list(ShmLeakCheck.directory())) {
                for (Path p : files.toList()) {
                    Files.delete(p); // the truncated segment: its reference could not be released
                }
            }
        }
    }
}
