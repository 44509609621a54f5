package dev.tessera.pool;

import dev.tessera.pool.internal.Chunk;
import dev.tessera.pool.internal.ChunkResult;
import dev.tessera.pool.internal.ChunkSink;
import dev.tessera.pool.internal.Engine;
import dev.tessera.pool.internal.Outcomes;
import dev.tessera.pool.internal.Task;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The whole {@link WorkerPool} API over an {@link Engine}: every call becomes chunks of a
 * {@link Task}, and results flow back through {@link ChunkSink}s. Subclasses only choose the engine.
 * Thread-safe because the engine is.
 */
abstract class AbstractPool implements WorkerPool, BatchSubmitter {
    final Engine engine;
    final ChunkIds ids = new ChunkIds();

    AbstractPool(Engine engine) {
        this.engine = engine;
    }

    @Override
    public int workers() {
        return engine.workers();
    }

    @Override
    public String name() {
        return engine.name();
    }

    @Override
    public <R> R apply(SerializableCallable<R> task) {
        return this.<R>submitOne(Tasks.CALLABLE, Tasks.CALLABLE, Objects.requireNonNull(task, "task"), null, null, true)
                .get();
    }

    @Override
    public <T, R> R apply(SerializableFunction<? super T, ? extends R> fn, T arg) {
        return this.<R>submitOne(Tasks.of(Objects.requireNonNull(fn, "fn")), fn, arg, null, null, true).get();
    }

    @Override
    public <R> AsyncResult<R> applyAsync(SerializableCallable<R> task) {
        return submitOne(Tasks.CALLABLE, Tasks.CALLABLE, Objects.requireNonNull(task, "task"), null, null);
    }

    @Override
    public <T, R> AsyncResult<R> applyAsync(SerializableFunction<? super T, ? extends R> fn, T arg) {
        return applyAsync(fn, arg, null, null);
    }

    @Override
    public <T, R> AsyncResult<R> applyAsync(SerializableFunction<? super T, ? extends R> fn, T arg,
            Consumer<? super R> callback, Consumer<? super Throwable> errorCallback) {
        return submitOne(Tasks.of(Objects.requireNonNull(fn, "fn")), fn, arg, callback, errorCallback);
    }

    <R> PoolAsyncResult<R> submitOne(Task task, Object key, Object arg, Consumer<? super R> callback,
            Consumer<? super Throwable> errorCallback) {
        return submitOne(task, key, arg, callback, errorCallback, false);
    }

    /** Submits one task; {@code synchronous} callers may run it on an idle worker from their own thread. */
    <R> PoolAsyncResult<R> submitOne(Task task, Object key, Object arg, Consumer<? super R> callback,
            Consumer<? super Throwable> errorCallback, boolean synchronous) {
        PoolAsyncResult<R> result = new PoolAsyncResult<>("task on pool " + name(), callback, errorCallback);
        Chunk chunk = oneChunk(task, key, arg, result);
        if (!synchronous || !engine.tryRunInCaller(chunk)) {
            engine.submit(chunk);
        }
        return result;
    }

    /** A chunk of one task whose outcome completes {@code result}. */
    <R> Chunk oneChunk(Task task, Object key, Object arg, PoolAsyncResult<R> result) {
        return new Chunk(ids.next(), task, key, new Object[] {arg}, 0, new ChunkSink() {
            @Override
            @SuppressWarnings("unchecked")
            public void onResult(Chunk chunk, ChunkResult r) {
                if (r.error(0) != null) {
                    result.fail(Outcomes.itemFailure(chunk, 0, r.error(0)));
                } else {
                    result.complete((R) r.values()[0]);
                }
            }

            @Override
            public void onFailure(Chunk chunk, RuntimeException failure) {
                result.fail(failure);
            }
        });
    }

    @Override
    public <T, R> List<R> map(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args) {
        return map(fn, args, 0);
    }

    @Override
    public <T, R> List<R> map(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args,
            int chunksize) {
        return this.<T, R>mapAsync(fn, args, chunksize, null, null).get();
    }

    @Override
    public <T, R> AsyncResult<List<R>> mapAsync(SerializableFunction<? super T, ? extends R> fn,
            Iterable<? extends T> args) {
        return mapAsync(fn, args, 0, null, null);
    }

    @Override
    public <T, R> AsyncResult<List<R>> mapAsync(SerializableFunction<? super T, ? extends R> fn,
            Iterable<? extends T> args, int chunksize, Consumer<? super List<R>> callback,
            Consumer<? super Throwable> errorCallback) {
        return submitMap(Tasks.of(Objects.requireNonNull(fn, "fn")), fn, args, chunksize, callback, errorCallback);
    }

    @Override
    public <R> List<R> starmap(StarFunction<? extends R> fn, Iterable<Object[]> argTuples) {
        return starmap(fn, argTuples, 0);
    }

    @Override
    public <R> List<R> starmap(StarFunction<? extends R> fn, Iterable<Object[]> argTuples, int chunksize) {
        return this.<R>starmapAsync(fn, argTuples, chunksize, null, null).get();
    }

    @Override
    public <R> AsyncResult<List<R>> starmapAsync(StarFunction<? extends R> fn, Iterable<Object[]> argTuples,
            int chunksize, Consumer<? super List<R>> callback, Consumer<? super Throwable> errorCallback) {
        return submitMap(Tasks.ofStar(Objects.requireNonNull(fn, "fn")), fn, argTuples, chunksize, callback, errorCallback);
    }

    /** Python's default: ceil(n / (4 * workers)). */
    int defaultChunksize(int n) {
        return Math.max(1, (n + 4 * workers() - 1) / (4 * workers()));
    }

    <R> PoolAsyncResult<List<R>> submitMap(Task task, Object key, Iterable<?> args, int chunksize,
            Consumer<? super List<R>> callback, Consumer<? super Throwable> errorCallback) {
        if (chunksize < 0) {
            throw new IllegalArgumentException("chunksize=" + chunksize + " (expected >= 1, or 0 for the default)");
        }
        List<Object> items = new ArrayList<>();
        args.forEach(items::add);
        int size = chunksize == 0 ? defaultChunksize(items.size()) : chunksize;
        int chunks = (items.size() + size - 1) / size;
        PoolAsyncResult<List<R>> result = new PoolAsyncResult<>("map of " + items.size() + " tasks on pool " + name(),
                callback, errorCallback);
        if (chunks == 0) {
            result.complete(List.of());
            return result;
        }
        MapCollector<R> collector = new MapCollector<>(items.size(), chunks, result);
        for (int from = 0; from < items.size() && !result.ready(); from += size) {
            Object[] slice = items.subList(from, Math.min(from + size, items.size())).toArray();
            Chunk c = new Chunk(ids.next(), task, key, slice, from, collector);
            collector.register(c);
            engine.submit(c);
        }
        return result;
    }

    @Override
    public <T, R> Iterator<R> imap(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args) {
        return imap(fn, args, 1);
    }

    @Override
    public <T, R> Iterator<R> imap(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args,
            int chunksize) {
        return new ImapIterator<>(engine, ids, Tasks.of(fn), fn, args.iterator(), chunksize, true);
    }

    @Override
    public <T, R> Iterator<R> imapUnordered(SerializableFunction<? super T, ? extends R> fn,
            Iterable<? extends T> args) {
        return imapUnordered(fn, args, 1);
    }

    @Override
    public <T, R> Iterator<R> imapUnordered(SerializableFunction<? super T, ? extends R> fn,
            Iterable<? extends T> args, int chunksize) {
        return new ImapIterator<>(engine, ids, Tasks.of(fn), fn, args.iterator(), chunksize, false);
    }

    @Override
    public Submission submitBatch(SerializableFunction<Object, Object> fn, Object[] args, long firstIndex,
            Listener listener) {
        Objects.requireNonNull(listener, "listener");
        Chunk chunk = new Chunk(ids.next(), Tasks.of(Objects.requireNonNull(fn, "fn")), fn, args, firstIndex,
                new ChunkSink() {
                    @Override
                    public void onResult(Chunk c, ChunkResult r) {
                        RuntimeException failure = Outcomes.firstFailure(c, r);
                        if (failure != null) {
                            listener.onFailure(failure);
                        } else {
                            listener.onResult(r.values());
                        }
                    }

                    @Override
                    public void onFailure(Chunk c, RuntimeException failure) {
                        listener.onFailure(failure);
                    }
                });
        engine.submit(chunk);
        return chunk;
    }

    @Override
    public boolean isOpen() {
        return engine.isOpen();
    }

    @Override
    public void close() {
        engine.close();
    }

    @Override
    public void terminate() {
        engine.terminate();
    }

    @Override
    public void join() {
        engine.join();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + name() + ", workers=" + workers() + (isOpen() ? "" : ", closed") + "]";
    }
}
