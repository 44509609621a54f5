package dev.tessera.pool;

import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@link AsyncResult} over a {@link CompletableFuture}; callbacks run once, on the completing thread. */
final class PoolAsyncResult<R> implements AsyncResult<R> {
    private static final Logger LOG = LoggerFactory.getLogger(PoolAsyncResult.class);

    private final CompletableFuture<R> future = new CompletableFuture<>();
    private final Consumer<? super R> callback;
    private final Consumer<? super Throwable> errorCallback;
    private final String what;

    PoolAsyncResult(String what, Consumer<? super R> callback, Consumer<? super Throwable> errorCallback) {
        this.what = what;
        this.callback = callback;
        this.errorCallback = errorCallback;
    }

    void complete(R value) {
        if (future.complete(value) && callback != null) {
            try {
                callback.accept(value);
            } catch (RuntimeException e) {
                LOG.warn("callback of {} threw", what, e);
            }
        }
    }

    void fail(Throwable error) {
        if (future.completeExceptionally(error) && errorCallback != null) {
            try {
                errorCallback.accept(error);
            } catch (RuntimeException e) {
                LOG.warn("error callback of {} threw", what, e);
            }
        }
    }

    @Override
    public R get() {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while waiting for " + what);
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        }
    }

    @Override
    public R get(Duration timeout) {
        try {
            return future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while waiting for " + what);
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        } catch (TimeoutException e) {
            throw new TaskTimeoutException(what + " not ready after " + timeout.toMillis()
                    + " ms; it may still be running (wait longer, or terminate the pool)");
        }
    }

    static RuntimeException rethrow(Throwable cause) {
        if (cause instanceof RuntimeException re) {
            return re;
        }
        return new TaskFailedException("task failed: " + cause, cause);
    }

    @Override
    public boolean waitFor(Duration timeout) {
        try {
            future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException | CancellationException e) {
            // reported through ready()/get()
        }
        return future.isDone();
    }

    @Override
    public boolean ready() {
        return future.isDone();
    }

    @Override
    public boolean successful() {
        if (!future.isDone()) {
            throw new IllegalStateException(what + " is not ready yet; call ready() or waitFor() first");
        }
        return !future.isCompletedExceptionally();
    }
}
