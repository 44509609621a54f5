package dev.tessera.assigner.internal.relax;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import org.junit.jupiter.api.Test;

/**
 * The engine choice: a PyTorch manager gets the PyTorch adapter, whose sparse matrix holds exactly the given entries
 * (so the relaxation's sparse edge pricing really runs on the CPU, rather than quietly falling back to gathers).
 */
class RelaxationEngineTest {

    @Test
    void pyTorchManagerGetsTheAdapterAndItsSparseMatrixHoldsTheGivenEntries() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
            RelaxationEngine engine = RelaxationEngine.of(manager);
            assertInstanceOf(PtRelaxationEngine.class, engine);
            // entries (0, 1) = 5 and (2, 0) = 7: rows first, then columns; PyTorch-owned copies, as the relaxation uses
            NDArray index = manager.create(new long[] {0, 2, 1, 0}, new Shape(2, 2)).duplicate();
            NDArray values = manager.create(new float[] {5f, 7f}).duplicate();
            NDArray matrix = engine.sparseCoo(index, values, new Shape(3, 3));
            assertEquals(SparseFormat.COO, matrix.getSparseFormat());
            assertArrayEquals(new float[] {0, 5, 0, 0, 0, 0, 7, 0, 0}, matrix.toDense().toFloatArray());
        }
    }
}
