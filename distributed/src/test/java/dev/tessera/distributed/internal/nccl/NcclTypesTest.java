package dev.tessera.distributed.internal.nccl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.distributed.ReduceOp;
import dev.tessera.sharedmem.DType;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The enum values that cross into NCCL, against nccl.h. */
class NcclTypesTest {
    @Test
    void dataTypesAreNcclsCodes() {
        Map<DType, Integer> want = new EnumMap<>(DType.class);
        want.put(DType.INT8, 0);      // ncclInt8
        want.put(DType.UINT8, 1);     // ncclUint8
        want.put(DType.INT32, 2);     // ncclInt32
        want.put(DType.INT64, 4);     // ncclInt64
        want.put(DType.FLOAT16, 6);   // ncclFloat16
        want.put(DType.FLOAT32, 7);   // ncclFloat32
        want.put(DType.FLOAT64, 8);   // ncclFloat64
        want.put(DType.BFLOAT16, 9);  // ncclBfloat16
        want.put(DType.INT16, -1);    // none
        want.put(DType.BOOL, -1);     // not reducible as booleans
        for (DType t : DType.values()) {
            assertEquals(want.get(t), Nccl.reduceType(t), t.name());
        }
        assertEquals(1, Nccl.bytesType(), "moved data travels as ncclUint8");
    }

    @Test
    void reduceOpsAreNcclsCodes() {
        assertEquals(0, Nccl.redOp(ReduceOp.SUM));
        assertEquals(1, Nccl.redOp(ReduceOp.PRODUCT));
        assertEquals(2, Nccl.redOp(ReduceOp.MAX));
        assertEquals(3, Nccl.redOp(ReduceOp.MIN));
        assertEquals(4, Nccl.redOp(ReduceOp.AVG));
        assertEquals(21000, Nccl.AVG_SINCE_VERSION, "NCCL_VERSION(2,10,0)");
    }
}
