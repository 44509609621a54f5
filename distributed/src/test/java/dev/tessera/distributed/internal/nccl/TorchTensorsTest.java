package dev.tessera.distributed.internal.nccl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * The device-address lookup through libtorch's C shim, on CPU tensors: the memory at the address must hold the
 * NDArray's values, and a strided tensor must be recognised and copied into a contiguous one.
 */
class TorchTensorsTest {
    @Test
    void addressOfAFloatTensorHoldsItsValues() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.create(new float[] {1.5f, -2f, 3f, 4f, 5f, 6.25f}, new Shape(2, 3));
            TorchTensors.Info info = TorchTensors.describe(a);
            assertEquals(TorchTensors.CPU, info.deviceType());
            assertArrayEquals(new long[] {2, 3}, info.sizes());
            assertArrayEquals(new long[] {3, 1}, info.strides());
            assertTrue(info.contiguous());
            assertArrayEquals(a.toFloatArray(), info.data().reinterpret(24).toArray(ValueLayout.JAVA_FLOAT));
        }
    }

    @Test
    void addressOfLongAndByteTensorsHoldsTheirValuesAndWritesReachTheArray() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray l = m.create(new long[] {Long.MIN_VALUE, 7, Long.MAX_VALUE});
            assertArrayEquals(l.toLongArray(), TorchTensors.describe(l).data().reinterpret(24)
                    .toArray(ValueLayout.JAVA_LONG));
            NDArray b = m.create(new byte[] {1, -1, 127});
            var at = TorchTensors.describe(b).data().reinterpret(3);
            assertArrayEquals(b.toByteArray(), at.toArray(ValueLayout.JAVA_BYTE));
            at.set(ValueLayout.JAVA_BYTE, 1, (byte) 42); // the address is the tensor's own storage, not a copy
            assertEquals(42, b.toByteArray()[1]);
        }
    }

    @Test
    void aSliceStartsAtItsOwnFirstElement() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.arange(0f, 10f);
            NDArray tail = a.get("4:");
            TorchTensors.Info info = TorchTensors.describe(tail);
            assertEquals(TorchTensors.describe(a).data().address() + 16, info.data().address());
            assertTrue(info.contiguous());
            assertArrayEquals(new float[] {4, 5, 6, 7, 8, 9}, info.data().reinterpret(24)
                    .toArray(ValueLayout.JAVA_FLOAT));
        }
    }

    @Test
    void aTransposedTensorIsNotContiguousAndItsCopyIs() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.arange(0f, 6f).reshape(2, 3);
            NDArray t = a.transpose();
            TorchTensors.Info info = TorchTensors.describe(t);
            assertArrayEquals(new long[] {3, 2}, info.sizes());
            assertArrayEquals(new long[] {1, 3}, info.strides());
            assertFalse(info.contiguous(), info.toString());
            try (NDArray copy = TorchTensors.contiguousCopy(t)) {
                TorchTensors.Info c = TorchTensors.describe(copy);
                assertTrue(c.contiguous(), c.toString());
                assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, c.data().reinterpret(24)
                        .toArray(ValueLayout.JAVA_FLOAT));
                copy.set(new ai.djl.ndarray.index.NDIndex("..."), 9f);
                TorchTensors.copyInto(t, copy); // back through the view, into a's storage
                assertArrayEquals(new float[] {9, 9, 9, 9, 9, 9}, a.toFloatArray());
            }
        }
    }

    @Test
    void contiguityIgnoresSizeOneDimensionsAsPyTorchDoes() {
        var p = java.lang.foreign.MemorySegment.NULL;
        assertTrue(new TorchTensors.Info(p, new long[] {1, 4}, new long[] {99, 1}, 0, -1).contiguous());
        assertTrue(new TorchTensors.Info(p, new long[] {0, 4}, new long[] {1, 1}, 0, -1).contiguous());
        assertFalse(new TorchTensors.Info(p, new long[] {4}, new long[] {2}, 0, -1).contiguous());
        assertTrue(new TorchTensors.Info(p, new long[] {}, new long[] {}, 0, -1).contiguous());
    }
}
