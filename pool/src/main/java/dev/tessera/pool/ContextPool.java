package dev.tessera.pool;

import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;

/**
 * A {@link WorkerPool} whose workers each own one context object, passed as the first argument of
 * every {@link ContextFunction} they run (machin's {@code CtxPool}). Thread-safe for submission; each
 * context is confined to its worker (worker {@code i} owns context {@code i}, also after a restart).
 *
 * @param <C> context type
 */
public interface ContextPool<C> extends WorkerPool {
    /** Runs {@code fn(context, arg)} on a worker and waits for its result. */
    <T, R> R apply(ContextFunction<? super C, ? super T, ? extends R> fn, T arg);

    <T, R> AsyncResult<R> applyAsync(ContextFunction<? super C, ? super T, ? extends R> fn, T arg);

    /** Either callback may be null. */
    <T, R> AsyncResult<R> applyAsync(ContextFunction<? super C, ? super T, ? extends R> fn, T arg,
            Consumer<? super R> callback, Consumer<? super Throwable> errorCallback);

    /** Calls {@code fn(context, arg)} for every argument, in chunks as {@link WorkerPool#map}, in order. */
    <T, R> List<R> map(ContextFunction<? super C, ? super T, ? extends R> fn, Iterable<? extends T> args);

    <T, R> List<R> map(ContextFunction<? super C, ? super T, ? extends R> fn, Iterable<? extends T> args,
            int chunksize);

    <T, R> AsyncResult<List<R>> mapAsync(ContextFunction<? super C, ? super T, ? extends R> fn,
            Iterable<? extends T> args);

    /** {@code chunksize} 0 means the default; callbacks may be null. */
    <T, R> AsyncResult<List<R>> mapAsync(ContextFunction<? super C, ? super T, ? extends R> fn,
            Iterable<? extends T> args, int chunksize, Consumer<? super List<R>> callback,
            Consumer<? super Throwable> errorCallback);

    /** Calls {@code fn(context, tuple...)} for every tuple, in order. */
    <R> List<R> starmap(ContextStarFunction<? super C, ? extends R> fn, Iterable<Object[]> argTuples);

    <R> List<R> starmap(ContextStarFunction<? super C, ? extends R> fn, Iterable<Object[]> argTuples,
            int chunksize);

    /** {@code chunksize} 0 means the default; callbacks may be null. */
    <R> AsyncResult<List<R>> starmapAsync(ContextStarFunction<? super C, ? extends R> fn,
            Iterable<Object[]> argTuples, int chunksize, Consumer<? super List<R>> callback,
            Consumer<? super Throwable> errorCallback);

    <T, R> Iterator<R> imap(ContextFunction<? super C, ? super T, ? extends R> fn, Iterable<? extends T> args);

    <T, R> Iterator<R> imapUnordered(ContextFunction<? super C, ? super T, ? extends R> fn,
            Iterable<? extends T> args);
}
