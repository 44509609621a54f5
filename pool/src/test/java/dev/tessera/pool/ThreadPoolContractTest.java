package dev.tessera.pool;

import java.util.function.Consumer;

class ThreadPoolContractTest extends PoolContractTest {
    @Override
    WorkerPool newPool(Consumer<PoolOptions<?>> options) {
        ThreadPool.Builder b = ThreadPool.builder().optWorkers(2);
        options.accept(b);
        return b.build();
    }
}
