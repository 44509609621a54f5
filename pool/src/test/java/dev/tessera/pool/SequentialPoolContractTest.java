package dev.tessera.pool;

import java.util.function.Consumer;

class SequentialPoolContractTest extends PoolContractTest {
    @Override
    WorkerPool newPool(Consumer<PoolOptions<?>> options) {
        SequentialPool.Builder b = SequentialPool.builder();
        options.accept(b);
        return b.build();
    }
}
