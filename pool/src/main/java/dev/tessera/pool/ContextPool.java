package dev.tessera.pool;

import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;

/**
 * A {@link WorkerPool} whose workers each own one context object, passed as the first argument of
 * every {@link ContextFunction} they run (machin's {@code CtxPool}). Thread-safe for submission; each
 * context is confined to its worker (worker {@code i} owns context {@code i}, also after a restart).
 *
 * <p>Failures and closed-pool behaviour are those of {@link WorkerPool}.
 *
 * @param <C> context type
 */
public interface ContextPool<C> extends WorkerPool {
    /** Runs {@code fn(context, arg)} on a worker and waits for its result. */
    <T, R> R apply(ContextFunction<? super C, ? super T, ? extends R> fn, T arg);

    /** Submits {@code fn(context, arg)} to a worker and returns at once, without callbacks. */
    <T, R> AsyncResult<R> applyAsync(ContextFunction<? super C, ? super T, ? extends R> fn, T arg);

    /** Submits {@code fn(context, arg)} and returns at once; either callback may be null. */
    <T, R> AsyncResult<R> applyAsync(ContextFunction<? super C, ? super T, ? extends R> fn, T arg,
            Consumer<? super R> callback, Consumer<? super Throwable> errorCallback);

    /** Calls {@code fn(context, arg)} for every argument, in chunks as {@link WorkerPool#map}, in order. */
    <T, R> List<R> map(ContextFunction<? super C, ? super T, ? extends R> fn, Iterable<? extends T> args);

    /** Like {@link #map(ContextFunction, Iterable)}; {@code chunksize} 0 means the default. */
    <T, R> List<R> map(ContextFunction<? super C, ? super T, ? extends R> fn, Iterable<? extends T> args,
            int chunksize);

    /** Asynchronous {@link #map(ContextFunction, Iterable)}: default chunksize, no callbacks. */
    <T, R> AsyncResult<List<R>> mapAsync(ContextFunction<? super C, ? super T, ? extends R> fn,
            Iterable<? extends T> args);

    /** {@code chunksize} 0 means the default; callbacks may be null. */
    <T, R> AsyncResult<List<R>> mapAsync(ContextFunction<? super C, ? super T, ? extends R> fn,
            Iterable<? extends T> args, int chunksize, Consumer<? super List<R>> callback,
            Consumer<? super Throwable> errorCallback);

    /** Calls {@code fn(context, tuple...)} for every tuple, in order. */
    <R> List<R> starmap(ContextStarFunction<? super C, ? extends R> fn, Iterable<Object[]> argTuples);

    /** Like {@link #starmap(ContextStarFunction, Iterable)}; {@code chunksize} 0 means the default. */
    <R> List<R> starmap(ContextStarFunction<? super C, ? extends R> fn, Iterable<Object[]> argTuples,
            int chunksize);

    /** {@code chunksize} 0 means the default; callbacks may be null. */
    <R> AsyncResult<List<R>> starmapAsync(ContextStarFunction<? super C, ? extends R> fn,
            Iterable<Object[]> argTuples, int chunksize, Consumer<? super List<R>> callback,
            Consumer<? super Throwable> errorCallback);

    /** Lazy {@code fn(context, arg)} map in submission order, chunksize 1, as {@link WorkerPool#imap}. */
    <T, R> Iterator<R> imap(ContextFunction<? super C, ? super T, ? extends R> fn, Iterable<? extends T> args);

    /** Like {@link #imap(ContextFunction, Iterable)} but yields results in completion order. */
    <T, R> Iterator<R> imapUnordered(ContextFunction<? super C, ? super T, ? extends R> fn,
            Iterable<? extends T> args);
}
