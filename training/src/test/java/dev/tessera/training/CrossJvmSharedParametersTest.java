package dev.tessera.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.training.Trainer;
import dev.tessera.sharedmem.testing.ShmLeakCheck;
import dev.tessera.training.testing.Mlp;
import dev.tessera.training.testing.TrainingChild;
import dev.tessera.sharedmem.testing.ChildJvm;
import java.util.HexFormat;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A worker JVM attaches to the owner's parameters; lifetime scenarios run in a child JVM, where a use of
 * unmapped memory shows as a crashed child instead of a crashed test JVM.
 */
@Tag("integration")
@Timeout(180)
@ExtendWith(ShmLeakCheck.class)
class CrossJvmSharedParametersTest {

    @Test
    void aWorkerJvmSeesTheOwnersWeightsAndUpdatesFlowBothWays() throws Exception {
        try (Model model = Mlp.model(8, 21); Trainer trainer = Mlp.adam(model);
                NDManager data = NDManager.newBaseManager();
                SharedParameters shared = SharedParameters.share(model.getBlock());
                ChildJvm worker = ChildJvm.start(TrainingChild.class, ShmLeakCheck.directory(), "attach",
                        HexFormat.of().formatHex(shared.handle().toBytes()))) {
            double initial = sum(model);
            assertEquals(initial, Double.parseDouble(worker.expect("ATTACHED")), "the worker sees the weights");

            worker.send("sgd");
            double afterWorkerStep = Double.parseDouble(worker.expect("SUM"));
            assertNotEquals(initial, afterWorkerStep, "the worker's SGD step changed the weights");
            assertEquals(afterWorkerStep, sum(model), "the owner sees the worker's SGD step");

            Mlp.step(trainer, Mlp.batch(data, 3));
            worker.send("sum");
            assertEquals(sum(model), Double.parseDouble(worker.expect("SUM")), "the worker sees the owner's Adam step");
            assertNotEquals(afterWorkerStep, sum(model));

            worker.send("close");
            double workerAtClose = Double.parseDouble(worker.expect("SUM"));
            assertEquals(sum(model), workerAtClose, "the worker's private copy starts from the shared values");
            worker.send("sgd");
            assertNotEquals(workerAtClose, Double.parseDouble(worker.expect("SUM")));
            assertEquals(workerAtClose, sum(model), "after its close the worker's steps stay private");
            worker.send("exit");
            worker.expect("EXITED");
            assertEquals(0, worker.waitExit(), worker.stderrText());
        }
    }

    @Test
    void droppingTheSharedParametersUnderGcPressureNeverUnmapsWhileTheBlockTrains() throws Exception {
        runScenario("gc-dropped", "20");
    }

    @Test
    void aBlockTrainsOnPrivateCopiesAfterCloseUnderGcPressure() throws Exception {
        runScenario("close-then-use", "15");
    }

    private static void runScenario(String... args) throws Exception {
        try (ChildJvm child = ChildJvm.start(TrainingChild.class, ShmLeakCheck.directory(), args)) {
            child.expect("OK");
            assertEquals(0, child.waitExit(), child.stderrText());
        }
    }

    private static double sum(Model model) {
        return Mlp.sum(Mlp.values(model.getBlock()));
    }
}
