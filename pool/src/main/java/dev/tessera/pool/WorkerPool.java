package dev.tessera.pool;

import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;

/**
 * A pool of workers with the API of Python's {@code multiprocessing.Pool}. Thread-safe: any thread may
 * submit. The pool owns its workers; whoever built it owns the pool and must close it (try-with-resources).
 * Results belong to the caller. Callbacks run on a pool thread in completion order and must not block.
 *
 * <p>{@link #close()} is {@code close()} followed by {@code join()} in Python terms: it stops new
 * submissions, lets queued tasks finish and waits for the workers to exit. {@link #terminate()} stops at
 * once and fails what is queued or running with a {@link java.util.concurrent.CancellationException}.
 * Both are idempotent.
 *
 * <p>Failures, for every method below: a blocking call (and {@link AsyncResult#get()}) throws
 * {@link TaskFailedException} when a task threw (its cause is the task's exception, or a
 * {@link RemoteException} stand-in when that could not be sent back from a worker JVM),
 * {@link WorkerCrashedException} when a worker died while running it, and
 * {@link java.util.concurrent.CancellationException} after {@link #terminate()} or when the waiting thread is
 * interrupted. Submitting to a pool that is no longer open throws {@link IllegalStateException}; a negative
 * {@code chunksize} (below 1 for the {@code imap} methods) throws {@link IllegalArgumentException}. Functions
 * and arguments must be serializable for a process pool.
 */
public interface WorkerPool extends AutoCloseable {
    /** Number of workers. */
    int workers();

    /** Name of the pool, used in worker names and messages. */
    String name();

    /** Runs {@code task} on a worker and waits for its result. */
    <R> R apply(SerializableCallable<R> task);

    /** Runs {@code fn(arg)} on a worker and waits for its result. */
    <T, R> R apply(SerializableFunction<? super T, ? extends R> fn, T arg);

    /** Submits {@code task} to a worker and returns at once; the result comes through the {@link AsyncResult}. */
    <R> AsyncResult<R> applyAsync(SerializableCallable<R> task);

    /** Submits {@code fn(arg)} to a worker and returns at once, without callbacks. */
    <T, R> AsyncResult<R> applyAsync(SerializableFunction<? super T, ? extends R> fn, T arg);

    /**
     * Like {@code apply_async(fn, (arg,), callback=..., error_callback=...)}; either callback may be null.
     * {@code callback} receives the result, {@code errorCallback} the exception {@code get()} would throw.
     */
    <T, R> AsyncResult<R> applyAsync(SerializableFunction<? super T, ? extends R> fn, T arg,
            Consumer<? super R> callback, Consumer<? super Throwable> errorCallback);

    /** Applies {@code fn} to every argument, in chunks of ceil(n / (4 * workers)), and returns results in order. */
    <T, R> List<R> map(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args);

    /** Like {@link #map(SerializableFunction, Iterable)} with an explicit {@code chunksize >= 1}. */
    <T, R> List<R> map(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args, int chunksize);

    /** Asynchronous {@link #map(SerializableFunction, Iterable)}: default chunksize, no callbacks. */
    <T, R> AsyncResult<List<R>> mapAsync(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args);

    /**
     * Asynchronous map. {@code chunksize} 0 means the default; callbacks may be null. The result fails with
     * the first failed task's exception; {@code callback} receives the whole list in argument order.
     */
    <T, R> AsyncResult<List<R>> mapAsync(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args,
            int chunksize, Consumer<? super List<R>> callback, Consumer<? super Throwable> errorCallback);

    /** Calls {@code fn(tuple...)} for every tuple, with the default chunksize; results in order. */
    <R> List<R> starmap(StarFunction<? extends R> fn, Iterable<Object[]> argTuples);

    /** Like {@link #starmap(StarFunction, Iterable)}; {@code chunksize} 0 means the default. */
    <R> List<R> starmap(StarFunction<? extends R> fn, Iterable<Object[]> argTuples, int chunksize);

    /** Asynchronous {@link #starmap(StarFunction, Iterable, int)}; {@code chunksize} 0 means the default; callbacks may be null. */
    <R> AsyncResult<List<R>> starmapAsync(StarFunction<? extends R> fn, Iterable<Object[]> argTuples, int chunksize,
            Consumer<? super List<R>> callback, Consumer<? super Throwable> errorCallback);

    /**
     * Lazy map in submission order with chunksize 1. Only a bounded window of chunks (2 × workers) is
     * in flight, so the argument iterator may be unbounded. A failed task throws
     * {@link TaskFailedException} from {@code next()} at its position; iteration may go on after it.
     */
    <T, R> Iterator<R> imap(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args);

    /** Like {@link #imap(SerializableFunction, Iterable)} with {@code chunksize >= 1} items per chunk. */
    <T, R> Iterator<R> imap(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args, int chunksize);

    /** Like {@link #imap} but yields results in completion order. */
    <T, R> Iterator<R> imapUnordered(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args);

    /** Like {@link #imapUnordered(SerializableFunction, Iterable)} with {@code chunksize >= 1} items per chunk. */
    <T, R> Iterator<R> imapUnordered(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args,
            int chunksize);

    /** Whether the pool still accepts tasks: false once {@link #close()} or {@link #terminate()} began. */
    boolean isOpen();

    /** Stops submissions, finishes queued tasks, waits for the workers to exit. Idempotent. */
    @Override
    void close();

    /** Stops now; queued and running tasks fail with a cancellation. Idempotent. */
    void terminate();

    /**
     * Waits, without a time limit, for the workers to exit after {@link #close()} or {@link #terminate()}.
     *
     * @throws IllegalStateException if the pool is still open
     */
    void join();
}
