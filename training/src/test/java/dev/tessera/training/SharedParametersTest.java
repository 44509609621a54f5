package dev.tessera.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.Trainer;
import ai.djl.util.Pair;
import dev.tessera.sharedmem.DType;
import dev.tessera.sharedmem.SharedTensor;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import dev.tessera.training.testing.Mlp;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Sharing and attaching in one JVM: in-place moves, optimizer steps on shared memory, checks, close. */
@Timeout(120)
@ExtendWith(ShmLeakCheck.class)
class SharedParametersTest {

    @Test
    void shareMovesEveryParameterInPlaceIntoOneSegment() {
        try (Model model = Mlp.model(8, 1)) {
            Block block = model.getBlock();
            List<NDArray> arrays = arrays(block);
            float[] before = Mlp.values(block);
            try (SharedParameters shared = SharedParameters.share(block)) {
                assertEquals(1, ShmLeakCheck.fileCount(), "one segment for all parameters");
                for (int i = 0; i < arrays.size(); i++) {
                    assertSame(arrays.get(i), arrays(block).get(i), "the parameter keeps its NDArray object");
                    assertTrue(arrays.get(i).hasGradient(), "and its gradient flag");
                }
                assertArrayEquals(before, Mlp.values(block));
                assertArrayEquals(before, shared(shared.handle()));
                List<SharedParameter> described = shared.handle().parameters();
                assertEquals(names(block), described.stream().map(SharedParameter::name).toList());
                assertArrayEquals(new long[] {8, Mlp.INPUTS}, described.get(0).shape());
                assertEquals(DType.FLOAT32, described.get(0).dtype());
            }
            assertEquals(0, ShmLeakCheck.fileCount());
            assertArrayEquals(before, Mlp.values(block), "close kept the values");
        }
    }

    @Test
    void anSgdStepWritesIntoSharedMemory() {
        trainsInSharedMemory(Mlp::sgd, true);
    }

    @Test
    void anAdamStepWritesIntoSharedMemoryWithATrainerMadeAfterSharing() {
        trainsInSharedMemory(Mlp::adam, false);
    }

    private static void trainsInSharedMemory(Function<Model, Trainer> optimizer, boolean trainerFirst) {
        try (Model model = Mlp.model(8, 2); NDManager data = NDManager.newBaseManager()) {
            Trainer early = trainerFirst ? optimizer.apply(model) : null;
            try (SharedParameters shared = SharedParameters.share(model.getBlock());
                    Trainer trainer = trainerFirst ? early : optimizer.apply(model)) {
                float[] before = Mlp.values(model.getBlock());
                for (int i = 0; i < 3; i++) {
                    Mlp.step(trainer, Mlp.batch(data, i));
                }
                float[] after = Mlp.values(model.getBlock());
                assertFalse(Arrays.equals(before, after), "the step changed the parameters");
                assertArrayEquals(after, shared(shared.handle()), "and the change is in shared memory");
            }
        }
    }

    @Test
    void anAttachedBlockTrainsOnTheSameMemory() {
        try (Model owner = Mlp.model(8, 3); Model worker = Mlp.model(8, 4); Trainer trainer = Mlp.sgd(worker);
                NDManager data = NDManager.newBaseManager();
                SharedParameters shared = SharedParameters.share(owner.getBlock())) {
            assertFalse(Arrays.equals(Mlp.values(owner.getBlock()), Mlp.values(worker.getBlock())));
            try (SharedParameters attached = shared.handle().attach(worker.getBlock())) {
                assertArrayEquals(Mlp.values(owner.getBlock()), Mlp.values(worker.getBlock()));
                Mlp.step(trainer, Mlp.batch(data, 0));
                assertArrayEquals(Mlp.values(worker.getBlock()), Mlp.values(owner.getBlock()),
                        "the owner sees the worker's update");
                assertTrue(attached.isOpen());
            }
            float[] workerAfterClose = Mlp.values(worker.getBlock());
            Mlp.step(trainer, Mlp.batch(data, 1));
            assertNotEquals(Mlp.sum(workerAfterClose), Mlp.sum(Mlp.values(worker.getBlock())));
            assertArrayEquals(workerAfterClose, Mlp.values(owner.getBlock()),
                    "after close the worker trains on its private copy");
        }
    }

    @Test
    void theOwnerClosingLeavesAttachedBlocksSharing() {
        try (Model owner = Mlp.model(8, 5); Model worker = Mlp.model(8, 6); Trainer trainer = Mlp.sgd(owner);
                NDManager data = NDManager.newBaseManager()) {
            SharedParameters shared = SharedParameters.share(owner.getBlock());
            try (SharedParameters attached = shared.handle().attach(worker.getBlock())) {
                shared.close();
                assertEquals(1, ShmLeakCheck.fileCount(), "the worker still holds the segment");
                Mlp.step(trainer, Mlp.batch(data, 0));
                assertFalse(Arrays.equals(Mlp.values(owner.getBlock()), shared(attached.handle())),
                        "the owner trains on its private copy");
                assertArrayEquals(Mlp.values(worker.getBlock()), shared(attached.handle()));
            }
            assertEquals(0, ShmLeakCheck.fileCount());
        }
    }

    @Test
    void closingTheModelClosesTheSharedParameters() {
        SharedParameters shared;
        try (Model model = Mlp.model(8, 7)) {
            shared = SharedParameters.share(model.getBlock());
        }
        assertFalse(shared.isOpen());
        assertEquals(0, ShmLeakCheck.fileCount());
    }

    @Test
    void aParameterCannotBeSharedTwice() {
        try (Model model = Mlp.model(8, 8); SharedParameters shared = SharedParameters.share(model.getBlock())) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> SharedParameters.share(model.getBlock()));
            assertTrue(e.getMessage().contains("'01Linear_weight' is already on shared memory"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> shared.handle().attach(model.getBlock()));
            assertEquals(1, ShmLeakCheck.fileCount(), "the refused share left no segment");
        }
    }

    @Test
    void attachRejectsABlockWithAnotherShape() {
        try (Model owner = Mlp.model(8, 9); Model wider = Mlp.model(9, 9);
                SharedParameters shared = SharedParameters.share(owner.getBlock())) {
            float[] before = Mlp.values(wider.getBlock());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> shared.handle().attach(wider.getBlock()));
            assertEquals("parameter '01Linear_weight': shape (9, 4) in the block, (8, 4) in the shared parameters",
                    e.getMessage());
            assertArrayEquals(before, Mlp.values(wider.getBlock()), "nothing was attached");
        }
    }

    @Test
    void attachRejectsABlockWithAnotherDtype() {
        try (Model owner = Mlp.model(8, 10); Model doubles = Model.newInstance("f64");
                SharedParameters shared = SharedParameters.share(owner.getBlock())) {
            Block block = Mlp.block(8);
            doubles.setBlock(block);
            block.initialize(doubles.getNDManager(), DataType.FLOAT64, new Shape(Mlp.BATCH, Mlp.INPUTS));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> shared.handle().attach(block));
            assertEquals("parameter '01Linear_weight': dtype FLOAT64 in the block, FLOAT32 in the shared parameters",
                    e.getMessage());
        }
    }

    @Test
    void attachRejectsMissingAndExtraParameters() {
        Block three = Mlp.block(8);
        ((SequentialBlock) three).add(Linear.builder().setUnits(2).build());
        try (Model owner = Mlp.model(8, 11);
                Model shallow = Mlp.model(new SequentialBlock().add(Linear.builder().setUnits(8).build()), 11);
                Model deep = Mlp.model(three, 11);
                SharedParameters shared = SharedParameters.share(owner.getBlock())) {
            Block one = shallow.getBlock();
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                    () -> shared.handle().attach(one));
            assertTrue(missing.getMessage().startsWith("shared parameter '03Linear_weight' (3, 8) FLOAT32 is missing "
                    + "from the block"), missing.getMessage());

            IllegalArgumentException extra = assertThrows(IllegalArgumentException.class,
                    () -> shared.handle().attach(three));
            assertTrue(extra.getMessage().startsWith("block parameter '04Linear_weight' (2, 3) FLOAT32 is not among "
                    + "the shared parameters"), extra.getMessage());
        }
    }

    @Test
    void shareAndAttachRejectAnUninitialisedBlock() {
        try (Model owner = Mlp.model(8, 12); SharedParameters shared = SharedParameters.share(owner.getBlock())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> shared.handle().attach(Mlp.block(8)));
            assertTrue(e.getMessage().startsWith("parameter '01Linear_weight' of the block is not initialised"),
                    e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> SharedParameters.share(Mlp.block(8)));
            assertEquals(1, ShmLeakCheck.fileCount());
        }
    }

    @Test
    void sharingGradientsIsRefusedWithTheReason() {
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> SharedParameters.builder().optShareGradients(true));
        assertTrue(e.getMessage().contains("autograd"), e.getMessage());
        SharedParameters.builder().optShareGradients(false); // the default is accepted
    }

    @Test
    void theHandleTravelsAsBytesAndAsASerializedObject() throws Exception {
        try (Model model = Mlp.model(8, 13); SharedParameters shared = SharedParameters.share(model.getBlock())) {
            ParameterHandle handle = shared.handle();
            assertEquals(handle, ParameterHandle.fromBytes(handle.toBytes()));
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject(handle);
            }
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
                assertEquals(handle, in.readObject());
            }
            byte[] truncated = Arrays.copyOf(handle.toBytes(), 20);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ParameterHandle.fromBytes(truncated));
            assertTrue(e.getMessage().contains("truncated"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> ParameterHandle.fromBytes(new byte[] {1, 2, 3, 4, 5}));
        }
    }

    @Test
    void theHandleRejectsDuplicateNamesAndReadOnlyStubs() {
        try (SharedTensor t = SharedTensor.allocate(DType.FLOAT32, 2)) {
            SharedParameter p = new SharedParameter("w", t.ref());
            IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
                    () -> new ParameterHandle(List.of(p, p)));
            assertEquals("parameter 'w' appears twice (expected unique names)", twice.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new SharedParameter("w", t.ref().asReadOnly()));
            assertThrows(IllegalArgumentException.class, () -> new ParameterHandle(List.of()));
        }
    }

    private static List<NDArray> arrays(Block block) {
        List<NDArray> arrays = new ArrayList<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            arrays.add(p.getValue().getArray());
        }
        return arrays;
    }

    private static List<String> names(Block block) {
        return block.getParameters().keys();
    }

    /** The values in shared memory, read through a second mapping of each stub. */
    static float[] shared(ParameterHandle handle) {
        List<float[]> parts = new ArrayList<>();
        int n = 0;
        for (SharedParameter p : handle.parameters()) {
            try (SharedTensor t = p.ref().openReadOnly()) {
                float[] v = t.segment().toArray(ValueLayout.JAVA_FLOAT);
                parts.add(v);
                n += v.length;
            }
        }
        float[] all = new float[n];
        int at = 0;
        for (float[] v : parts) {
            System.arraycopy(v, 0, all, at, v.length);
            at += v.length;
        }
        return all;
    }
}
