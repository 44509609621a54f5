package dev.tessera.pool;

import java.util.function.Consumer;

class CtxThreadPoolContractTest extends PoolContractTest {
    @Override
    WorkerPool newPool(Consumer<PoolOptions<?>> options) {
        CtxThreadPool.Builder<String> b = CtxThreadPool.<String>builder().setWorkerContexts(CONTEXTS);
        options.accept(b);
        return b.build();
    }
}
