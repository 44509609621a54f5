package dev.tessera.distributed;

import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An asynchronous collective or point-to-point operation of a {@link CollectiveGroup}; thread-safe, owning nothing
 * (the tensors stay the caller's, and must stay open until the operation is done). The operation itself runs under
 * its group's timeout; {@link #await(Duration)} only bounds how long the caller waits for it.
 *
 * @param <T> the result: the sender's rank for a receive, else {@code Void}
 */
public final class Work<T> {
    private final CompletableFuture<T> future;
    private final String what;

    Work(CompletableFuture<T> future, String what) {
        this.future = future;
        this.what = what;
    }

    /**
     * Whether the operation finished, successfully or not.
     *
     * @return true once done
     */
    public boolean isDone() {
        return future.isDone();
    }

    /**
     * Waits for the operation.
     *
     * @param timeout how long to wait, positive
     * @return its result (the sender's rank for a receive, null otherwise)
     * @throws GroupTimeoutException if it is not done within {@code timeout} (it carries on)
     * @throws MemberLostException if a rank it needed left the World
     * @throws IllegalArgumentException if the ranks' tensors did not match, or {@code timeout} is not positive
     */
    public T await(Duration timeout) {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout=" + timeout + " (expected > 0)");
        }
        try {
            return future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new GroupTimeoutException(what + " (waiting in Work.await)", timeout);
        } catch (ExecutionException | CompletionException e) {
            throw rethrow(e.getCause());
        } catch (CancellationException e) {
            throw new IllegalStateException(what + " was cancelled", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(what + ": interrupted while waiting", e);
        }
    }

    static RuntimeException rethrow(Throwable cause) {
        if (cause instanceof RuntimeException r) {
            return r;
        }
        if (cause instanceof Error err) {
            throw err;
        }
        return new IllegalStateException(cause);
    }

    @Override
    public String toString() {
        return "Work[" + what + (future.isDone() ? ", done" : "") + "]";
    }
}
