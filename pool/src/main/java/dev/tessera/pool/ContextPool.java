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
    <T, R> R apply(ContextFunction<? super C, ? super T, ? extends R> fn, T arg);

    <T, R> AsyncResult<R> applyAsync(ContextFunction<? super C, ? super T, ? extends R> fn, T arg,
            Consumer<? super R> callback, Consumer<? super Throwable> errorCallback);

    <T, R> List<R> map(ContextFunction<? super C, ? super T, ? extends R> fn, Iterable<? extends T> args);

    <T, R> List<R> map(ContextFunction<? super C, ? super T, ? extends R> fn, Iterable<? extends T> args,
            int chunksize);

    <T, R> Iterator<R> imap(ContextFunction<? super C, ? super T, ? extends R> fn, Iterable<? extends T> args);

    <T, R> Iterator<R> imapUnordered(ContextFunction<? super C, ? super T, ? extends R> fn,
            Iterable<? extends T> args);
}
