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

    <R> AsyncResult<R> applyAsync(SerializableCallable<R> task);

    <T, R> AsyncResult<R> applyAsync(SerializableFunction<? super T, ? extends R> fn, T arg);

    /** Like {@code apply_async(fn, (arg,), callback=..., error_callback=...)}; either callback may be null. */
    <T, R> AsyncResult<R> applyAsync(SerializableFunction<? super T, ? extends R> fn, T arg,
            Consumer<? super R> callback, Consumer<? super Throwable> errorCallback);

    /** Applies {@code fn} to every argument, in chunks of ceil(n / (4 * workers)), and returns results in order. */
    <T, R> List<R> map(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args);

    /** Like {@link #map(SerializableFunction, Iterable)} with an explicit {@code chunksize >= 1}. */
    <T, R> List<R> map(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args, int chunksize);

    <T, R> AsyncResult<List<R>> mapAsync(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args);

    /** {@code chunksize} 0 means the default; callbacks may be null. */
    <T, R> AsyncResult<List<R>> mapAsync(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args,
            int chunksize, Consumer<? super List<R>> callback, Consumer<? super Throwable> errorCallback);

    /** Calls {@code fn(tuple...)} for every tuple, in order. */
    <R> List<R> starmap(StarFunction<? extends R> fn, Iterable<Object[]> argTuples);

    <R> List<R> starmap(StarFunction<? extends R> fn, Iterable<Object[]> argTuples, int chunksize);

    <R> AsyncResult<List<R>> starmapAsync(StarFunction<? extends R> fn, Iterable<Object[]> argTuples, int chunksize,
            Consumer<? super List<R>> callback, Consumer<? super Throwable> errorCallback);

    /**
     * Lazy map in submission order with chunksize 1. Only a bounded window of chunks (2 × workers) is
     * in flight, so the argument iterator may be unbounded. A failed task throws
     * {@link TaskFailedException} from {@code next()} at its position; iteration may go on after it.
     */
    <T, R> Iterator<R> imap(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args);

    <T, R> Iterator<R> imap(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args, int chunksize);

    /** Like {@link #imap} but yields results in completion order. */
    <T, R> Iterator<R> imapUnordered(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args);

    <T, R> Iterator<R> imapUnordered(SerializableFunction<? super T, ? extends R> fn, Iterable<? extends T> args,
            int chunksize);

    /** Whether the pool still accepts tasks. */
    boolean isOpen();

    /** Stops submissions, finishes queued tasks, waits for the workers to exit. Idempotent. */
    @Override
    void close();

    /** Stops now; queued and running tasks fail with a cancellation. Idempotent. */
    void terminate();

    /**
     * Waits for the workers to exit.
     *
     * @throws IllegalStateException if the pool is still open
     */
    void join();
}
