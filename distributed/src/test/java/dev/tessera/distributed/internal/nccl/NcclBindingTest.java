package dev.tessera.distributed.internal.nccl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The FFM bindings against a stand-in libnccl compiled here from {@code fake-nccl/fake_nccl.c} (NCCL's C signatures;
 * each function records its arguments): the 128-byte unique id passed by value, and every argument of every call in
 * its place. Skipped where there is no C compiler.
 */
@SuppressWarnings("restricted")
class NcclBindingTest {
    @TempDir
    static Path dir;
    private static SymbolLookup fake;
    private static Nccl nccl;

    @BeforeAll
    static void compile() throws IOException, InterruptedException {
        Path c = dir.resolve("fake_nccl.c");
        try (InputStream in = NcclBindingTest.class.getResourceAsStream("/fake-nccl/fake_nccl.c")) {
            Files.copy(in, c);
        }
        Path so = dir.resolve("libfakenccl.so");
        Process p;
        try {
            p = new ProcessBuilder("cc", "-shared", "-fPIC", "-O1", "-o", so.toString(), c.toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("cc.log").toFile()).start();
        } catch (IOException e) {
            assumeTrue(false, "no C compiler (cc) to build the stand-in libnccl: " + e.getMessage());
            return;
        }
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("cc did not finish in 60 s");
        }
        assertEquals(0, p.exitValue(), () -> "cc failed: " + read(dir.resolve("cc.log")));
        fake = SymbolLookup.libraryLookup(so, Arena.global());
        nccl = Nccl.bind(fake);
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static long[] lastArgs() throws Throwable {
        MethodHandle h = Linker.nativeLinker().downcallHandle(fake.find("fake_last_args").orElseThrow(),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(8 * 9);
            h.invokeExact(out);
            return out.toArray(ValueLayout.JAVA_LONG);
        }
    }

    @Test
    void versionAndUniqueIdCrossIntact() throws Throwable {
        assertEquals(22703, nccl.version());
        byte[] id = nccl.uniqueId();
        assertEquals(128, id.length);
        for (int i = 0; i < 128; i++) {
            assertEquals((byte) (i * 3 + 1), id[i], "byte " + i);
        }
    }

    @Test
    void commInitRankTakesTheIdByValueAndTheRanksInPlace() throws Throwable {
        byte[] id = new byte[128];
        for (int i = 0; i < 128; i++) {
            id[i] = (byte) (255 - i);
        }
        MemorySegment comm = nccl.commInitRank(3, id, 2);
        assertEquals(0x1234, comm.address());
        MethodHandle h = Linker.nativeLinker().downcallHandle(fake.find("fake_last_init").orElseThrow(),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment got = a.allocate(128);
            MemorySegment n = a.allocate(4);
            MemorySegment r = a.allocate(4);
            h.invokeExact(got, n, r);
            assertArrayEquals(id, got.toArray(ValueLayout.JAVA_BYTE));
            assertEquals(3, n.get(ValueLayout.JAVA_INT, 0));
            assertEquals(2, r.get(ValueLayout.JAVA_INT, 0));
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> nccl.commInitRank(2, id, 5));
        assertTrue(e.getMessage().contains("ncclCommInitRank(nranks=2, rank=5) failed: NCCL error 4 (invalid "
                + "argument)"), e.getMessage());
    }

    @Test
    void everyCallPassesItsArgumentsInPlace() throws Throwable {
        MemorySegment s = MemorySegment.ofAddress(0x1000);
        MemorySegment r = MemorySegment.ofAddress(0x2000);
        MemorySegment c = MemorySegment.ofAddress(0x3000);
        MemorySegment st = MemorySegment.ofAddress(0x4000);
        nccl.allReduce(s, r, 5_000_000_000L, 7, 4, c, st);
        assertArrayEquals(new long[] {0x1000, 0x2000, 5_000_000_000L, 7, 4, -1, 0x3000, 0x4000, 0}, lastArgs());
        nccl.broadcast(s, r, 10, 1, 3, c, st);
        assertArrayEquals(new long[] {0x1000, 0x2000, 10, 1, -1, 3, 0x3000, 0x4000, 0}, lastArgs());
        nccl.reduce(s, r, 11, 8, 2, 1, c, st);
        assertArrayEquals(new long[] {0x1000, 0x2000, 11, 8, 2, 1, 0x3000, 0x4000, 0}, lastArgs());
        nccl.allGather(s, r, 12, 6, c, st);
        assertArrayEquals(new long[] {0x1000, 0x2000, 12, 6, -1, -1, 0x3000, 0x4000, 0}, lastArgs());
        nccl.reduceScatter(s, r, 13, 9, 1, c, st);
        assertArrayEquals(new long[] {0x1000, 0x2000, 13, 9, 1, -1, 0x3000, 0x4000, 0}, lastArgs());
        nccl.groupStart();
        nccl.send(s, 14, 1, 1, c, st);
        assertArrayEquals(new long[] {0x1000, 0, 14, 1, -1, 1, 0x3000, 0x4000, 1}, lastArgs());
        nccl.recv(r, 15, 1, 0, c, st);
        nccl.groupEnd();
        assertArrayEquals(new long[] {0, 0x2000, 15, 1, -1, 0, 0x3000, 0x4000, 1}, lastArgs());
        assertEquals(Nccl.IN_PROGRESS, nccl.asyncError(c));
        assertEquals(Nccl.SUCCESS, nccl.commAbort(c));
        assertEquals(0x3000, lastArgs()[0]);
    }
}
