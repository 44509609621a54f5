package dev.tessera.pool;

import dev.tessera.pool.internal.Engine;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/** The {@link ContextPool} overloads, as {@link Tasks.OfContext} tasks on the same engine. */
abstract class AbstractContextPool<C> extends AbstractPool implements ContextPool<C> {
    AbstractContextPool(Engine engine) {
        super(engine);
    }

    @Override
    public <T, R> R apply(ContextFunction<? super C, ? super T, ? extends R> fn, T arg) {
        return this.<R>submitOne(Tasks.ofContext(Objects.requireNonNull(fn, "fn")), fn, arg, null, null, true).get();
    }

    @Override
    public <T, R> AsyncResult<R> applyAsync(ContextFunction<? super C, ? super T, ? extends R> fn, T arg) {
        return applyAsync(fn, arg, null, null);
    }

    @Override
    public <T, R> AsyncResult<R> applyAsync(ContextFunction<? super C, ? super T, ? extends R> fn, T arg,
            Consumer<? super R> callback, Consumer<? super Throwable> errorCallback) {
        return submitOne(Tasks.ofContext(Objects.requireNonNull(fn, "fn")), fn, arg, callback, errorCallback);
    }

    @Override
    public <T, R> List<R> map(ContextFunction<? super C, ? super T, ? extends R> fn, Iterable<? extends T> args) {
        return map(fn, args, 0);
    }

    @Override
    public <T, R> List<R> map(ContextFunction<? super C, ? super T, ? extends R> fn, Iterable<? extends T> args,
            int chunksize) {
        return this.<T, R>mapAsync(fn, args, chunksize, null, null).get();
    }

    @Override
    public <T, R> AsyncResult<List<R>> mapAsync(ContextFunction<? super C, ? super T, ? extends R> fn,
            Iterable<? extends T> args) {
        return mapAsync(fn, args, 0, null, null);
    }

    @Override
    public <T, R> AsyncResult<List<R>> mapAsync(ContextFunction<? super C, ? super T, ? extends R> fn,
            Iterable<? extends T> args, int chunksize, Consumer<? super List<R>> callback,
            Consumer<? super Throwable> errorCallback) {
        return submitMap(Tasks.ofContext(Objects.requireNonNull(fn, "fn")), fn, args, chunksize, callback,
                errorCallback);
    }

    @Override
    public <R> List<R> starmap(ContextStarFunction<? super C, ? extends R> fn, Iterable<Object[]> argTuples) {
        return starmap(fn, argTuples, 0);
    }

    @Override
    public <R> List<R> starmap(ContextStarFunction<? super C, ? extends R> fn, Iterable<Object[]> argTuples,
            int chunksize) {
        return this.<R>starmapAsync(fn, argTuples, chunksize, null, null).get();
    }

    @Override
    public <R> AsyncResult<List<R>> starmapAsync(ContextStarFunction<? super C, ? extends R> fn,
            Iterable<Object[]> argTuples, int chunksize, Consumer<? super List<R>> callback,
            Consumer<? super Throwable> errorCallback) {
        return submitMap(Tasks.ofContextStar(Objects.requireNonNull(fn, "fn")), fn, argTuples, chunksize, callback,
                errorCallback);
    }

    @Override
    public <T, R> Iterator<R> imap(ContextFunction<? super C, ? super T, ? extends R> fn, Iterable<? extends T> args) {
        return new ImapIterator<>(engine, ids, Tasks.ofContext(fn), fn, args.iterator(), 1, true);
    }

    @Override
    public <T, R> Iterator<R> imapUnordered(ContextFunction<? super C, ? super T, ? extends R> fn,
            Iterable<? extends T> args) {
        return new ImapIterator<>(engine, ids, Tasks.ofContext(fn), fn, args.iterator(), 1, false);
    }
}
