package dev.tessera.pool;

import dev.tessera.pool.internal.Chunk;
import dev.tessera.pool.internal.ChunkResult;
import dev.tessera.pool.internal.ChunkSink;
import dev.tessera.pool.internal.Outcomes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Gathers the chunks of one {@code map} call into a list in argument order. The first failure fails
 * the whole call and cancels its chunks that have not run yet. Thread-safe: chunks complete on any
 * worker's driver thread.
 */
final class MapCollector<R> implements ChunkSink {
    private final Object[] results;
    private final AtomicInteger remaining;
    private final PoolAsyncResult<List<R>> target;
    private final List<Chunk> chunks = new ArrayList<>();

    MapCollector(int items, int chunkCount, PoolAsyncResult<List<R>> target) {
        this.results = new Object[items];
        this.remaining = new AtomicInteger(chunkCount);
        this.target = target;
    }

    void register(Chunk c) {
        synchronized (chunks) {
            chunks.add(c);
        }
    }

    @Override
    public void onResult(Chunk chunk, ChunkResult result) {
        RuntimeException failure = Outcomes.firstFailure(chunk, result);
        if (failure != null) {
            failAll(failure);
            return;
        }
        System.arraycopy(result.values(), 0, results, (int) chunk.firstIndex(), chunk.size());
        if (remaining.decrementAndGet() == 0) {
            @SuppressWarnings("unchecked")
            List<R> list = (List<R>) Arrays.asList(results);
            target.complete(list);
        }
    }

    @Override
    public void onFailure(Chunk chunk, RuntimeException failure) {
        failAll(failure);
    }

    private void failAll(RuntimeException failure) {
        if (target.ready()) {
            return;
        }
        target.fail(failure);
        List<Chunk> snapshot;
        synchronized (chunks) {
            snapshot = new ArrayList<>(chunks);
        }
        CancellationException cancel = new CancellationException("cancelled because another task of the same map failed: "
                + failure.getMessage());
        for (Chunk c : snapshot) {
            c.cancelIfQueued(cancel);
        }
    }
}
