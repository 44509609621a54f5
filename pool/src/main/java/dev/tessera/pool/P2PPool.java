package dev.tessera.pool;

import dev.tessera.pool.internal.AddressedEngine;
import dev.tessera.pool.internal.Chunk;
import dev.tessera.pool.internal.Task;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A {@link ProcessPool} whose worker JVMs each have their own task queue, so a caller can address one
 * worker directly (machin's {@code P2PPool}). Thread-safe for submission; the pool owns its worker
 * processes, the builder's caller owns the pool and must close it. Arguments and results cross as in
 * {@link ProcessPool}.
 *
 * <p>Queues: {@link #applyOn} and {@link #applyAsyncOn} queue a task for worker {@code workerIndex}
 * only, and {@link #broadcast} queues one copy for every worker; a worker runs its addressed tasks in
 * submission order. Every {@link WorkerPool} method ({@code apply}, {@code map}, {@code imap}...) spreads
 * its work through one shared queue that each worker takes from when its own queue is empty, so
 * addressed work goes before spread work on its worker. Pair it with {@link Worker#storage()} to keep
 * state in a worker and send the tasks that need it there.
 *
 * <p>Failures are those of {@link WorkerPool}. A worker that dies fails only the task it was running, with
 * {@link WorkerCrashedException}, and is replaced in the same slot. Its queue is kept: the tasks queued for
 * it run, in order, on the replacement (whose {@link Worker#storage()} starts empty). If the replacement
 * cannot start, each of those tasks fails with a {@link PoolException} when its turn comes.
 * {@link #close()} runs every queued task first; {@link #terminate()} cancels the queued ones.
 */
public final class P2PPool extends AbstractPool {
    private final AddressedEngine addressed;

    private P2PPool(Builder b) {
        this(ProcessPool.start(b, b.resolveName("p2p")));
    }

    private P2PPool(AddressedEngine engine) {
        super(engine);
        this.addressed = engine;
    }

    /** A new builder with the defaults listed on {@link Builder}; a builder is not thread-safe. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Runs {@code task} on worker {@code workerIndex} and waits for its result.
     *
     * @throws IllegalArgumentException if {@code workerIndex} is not in {@code [0, workers())}
     */
    public <R> R applyOn(int workerIndex, SerializableCallable<R> task) {
        return this.<R>submitTo(workerIndex, Tasks.CALLABLE, Tasks.CALLABLE, Objects.requireNonNull(task, "task"),
                null, null).get();
    }

    /**
     * Runs {@code fn(arg)} on worker {@code workerIndex} and waits for its result.
     *
     * @throws IllegalArgumentException if {@code workerIndex} is not in {@code [0, workers())}
     */
    public <T, R> R applyOn(int workerIndex, SerializableFunction<? super T, ? extends R> fn, T arg) {
        return this.<T, R>applyAsyncOn(workerIndex, fn, arg, null, null).get();
    }

    /** Queues {@code fn(arg)} for worker {@code workerIndex} and returns at once, without callbacks. */
    public <T, R> AsyncResult<R> applyAsyncOn(int workerIndex, SerializableFunction<? super T, ? extends R> fn,
            T arg) {
        return applyAsyncOn(workerIndex, fn, arg, null, null);
    }

    /**
     * Queues {@code fn(arg)} for worker {@code workerIndex} and returns at once; either callback may be null.
     *
     * @throws IllegalArgumentException if {@code workerIndex} is not in {@code [0, workers())}
     */
    public <T, R> AsyncResult<R> applyAsyncOn(int workerIndex, SerializableFunction<? super T, ? extends R> fn,
            T arg, Consumer<? super R> callback, Consumer<? super Throwable> errorCallback) {
        return submitTo(workerIndex, Tasks.of(Objects.requireNonNull(fn, "fn")), fn, arg, callback, errorCallback);
    }

    /**
     * Runs {@code fn(arg)} once on every worker and returns the results by worker index. Waits for all of
     * them; the first failure (in worker order) is thrown.
     */
    public <T, R> List<R> broadcast(SerializableFunction<? super T, ? extends R> fn, T arg) {
        List<AsyncResult<R>> pending = new ArrayList<>(workers());
        for (int i = 0; i < workers(); i++) {
            pending.add(applyAsyncOn(i, fn, arg));
        }
        List<R> results = new ArrayList<>(pending.size());
        for (AsyncResult<R> r : pending) {
            results.add(r.get());
        }
        return results;
    }

    private <R> PoolAsyncResult<R> submitTo(int workerIndex, Task task, Object key, Object arg,
            Consumer<? super R> callback, Consumer<? super Throwable> errorCallback) {
        PoolAsyncResult<R> result = new PoolAsyncResult<>("task on worker " + workerIndex + " of pool " + name(),
                callback, errorCallback);
        Chunk chunk = oneChunk(task, key, arg, result);
        addressed.submitTo(workerIndex, chunk);
        return result;
    }

    /** Builds a {@link P2PPool}; defaults: one worker per CPU, tensors as stubs, 60 s start timeout. */
    public static final class Builder extends ProcessOptions<Builder> {
        private Builder() {}

        /**
         * Starts the workers and returns once every one is ready (its initializer has run).
         *
         * @throws PoolException if a worker failed to start, its initializer threw, or it was not ready
         *     within {@code optStartTimeout} plus 5 s
         */
        public P2PPool build() {
            return new P2PPool(this);
        }
    }
}
