package dev.tessera.pool;

import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;

@Tag("integration")
class ProcessPoolContractTest extends PoolContractTest {
    @Override
    WorkerPool newPool(Consumer<PoolOptions<?>> options) {
        ProcessPool.Builder b = ProcessPool.builder().optWorkers(2);
        options.accept(b);
        return b.build();
    }

    @AfterEach
    void noExtraWorkers() {
        ProcessLeakCheck.assertAtMost(pool == null ? 0 : pool.workers());
    }

    @AfterAll
    void noWorkersLeft() {
        pool.terminate();
        ProcessLeakCheck.assertAtMost(0);
    }
}
