package dev.tessera.pool;

import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;

@Tag("integration")
class P2PPoolContractTest extends PoolContractTest {
    @Override
    WorkerPool newPool(Consumer<PoolOptions<?>> options) {
        P2PPool.Builder b = P2PPool.builder().optWorkers(2);
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
