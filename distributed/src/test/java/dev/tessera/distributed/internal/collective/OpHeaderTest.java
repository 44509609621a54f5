package dev.tessera.distributed.internal.collective;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.distributed.ReduceOp;
import dev.tessera.sharedmem.DType;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The header's device words and list length, and the verdict on device kinds and list lengths. */
class OpHeaderTest {
    private static OpHeader header(int device, int index) {
        return new OpHeader(OpHeader.Op.ALL_REDUCE, -1, ReduceOp.SUM.ordinal(), DType.FLOAT32.code(), true, 8,
                new long[] {2}, device, index);
    }

    @Test
    void theDeviceWordsSurviveTheBinaryForm() {
        OpHeader h = new OpHeader(OpHeader.Op.GATHER, 1, -1, DType.INT64.code(), true, 8L * 11,
                new long[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 11}, OpHeader.CUDA, 3);
        byte[] b = h.toBytes();
        assertEquals(OpHeader.BYTES, b.length);
        assertEquals(h, OpHeader.read(MemorySegment.ofArray(b), 0));
    }

    @Test
    void aCpuRankAndACudaRankFailWithBothDevicesNamed() {
        OpHeader[] all = {header(OpHeader.HOST, -1), header(OpHeader.CUDA, 1)};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OpHeader.checkAgree(all, new int[] {0, 4}, 0, "allReduce"));
        assertTrue(e.getMessage().contains("rank 0 has the CPU, rank 4 has cuda:1"), e.getMessage());
    }

    @Test
    void theListLengthSurvivesTheBinaryFormAndDifferentLengthsFailNamingBoth() {
        OpHeader three = new OpHeader(OpHeader.Op.ALL_REDUCE, -1, ReduceOp.SUM.ordinal(), DType.FLOAT32.code(), true,
                8, new long[] {2}, OpHeader.HOST, -1, 3);
        assertEquals(3, OpHeader.read(MemorySegment.ofArray(three.toBytes()), 0).tensors());
        assertEquals(1, header(OpHeader.HOST, -1).tensors(), "a single-tensor header stands for one");
        OpHeader[] all = {three, three, header(OpHeader.HOST, -1)};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OpHeader.checkAgree(all, new int[] {0, 1, 5}, 0, "allReduceMultiGpu"));
        assertTrue(e.getMessage().contains("lists of different lengths: rank 0 passed 3 tensor(s), rank 5 passed 1"),
                e.getMessage());
    }

    @Test
    void cudaRanksOnDifferentDeviceIndexesAgree() {
        OpHeader[] all = {header(OpHeader.CUDA, 0), header(OpHeader.CUDA, 1)};
        assertDoesNotThrow(() -> OpHeader.checkAgree(all, new int[] {0, 1}, 1, "allReduce"));
    }
}
