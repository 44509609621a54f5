package dev.tessera.pool.internal;

import dev.tessera.pool.PoolException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;

/**
 * A fixed set of worker slots fed from one FIFO queue of chunks.
 *
 * <p>Shutdown uses one poison chunk per slot, queued behind all real work, so {@link #close()} lets
 * queued work finish. {@link #terminate()} drains the queue first, failing what it removes, and then
 * kills running workers. The state moves OPEN → CLOSING → CLOSED or OPEN/CLOSING → TERMINATED, by CAS.
 */
final class PoolCore implements Engine {
    private static final int OPEN = 0;
    private static final int CLOSING = 1;
    private static final int TERMINATED = 2;
    private static final Chunk POISON = new Chunk(-1, (c, a) -> null, null, new Object[0], -1, null);

    private final String name;
    private final WorkerSetup setup;
    private final WorkerSlot[] slots;
    private final LinkedBlockingQueue<Chunk> queue = new LinkedBlockingQueue<>();
    private final AtomicInteger state = new AtomicInteger(OPEN);

    /** Creates the slots with {@code factory} and starts them; returns once every worker is ready. */
    public PoolCore(String name, int workers, WorkerSetup setup, BiFunction<PoolCore, Integer, WorkerSlot> factory,
            long startTimeoutMillis) {
        if (setup.contexts() != null && setup.contexts().size() != workers) {
            throw new IllegalArgumentException("workerContexts.size()=" + setup.contexts().size()
                    + " (expected one context per worker: " + workers + ")");
        }
        this.name = name;
        this.setup = setup;
        this.slots = new WorkerSlot[workers];
        for (int i = 0; i < workers; i++) {
            slots[i] = factory.apply(this, i);
            slots[i].start(name + "-driver-" + i);
        }
        awaitReady(startTimeoutMillis);
    }

    private void awaitReady(long timeoutMillis) {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (WorkerSlot s : slots) {
            all.add(s.ready);
        }
        try {
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            terminate();
            Throwable cause = e.getCause();
            throw cause instanceof RuntimeException re ? re
                    : new PoolException("pool " + name + " failed to start its workers: " + cause, cause);
        } catch (TimeoutException e) {
            terminate();
            throw new PoolException("pool " + name + ": workers not ready after " + timeoutMillis
                    + " ms; check the worker's stderr, or raise the start timeout", e);
        } catch (InterruptedException e) {
            terminate();
            Thread.currentThread().interrupt();
            throw new PoolException("interrupted while starting pool " + name, e);
        }
    }

    public WorkerSetup setup() {
        return setup;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int workers() {
        return slots.length;
    }

    @Override
    public boolean inline() {
        return false;
    }

    @Override
    public void submit(Chunk chunk) {
        if (state.get() != OPEN) {
            throw new IllegalStateException("pool " + name + " is closed; create a new pool to run more tasks");
        }
        queue.add(chunk);
    }

    @Override
    public boolean tryRunInCaller(Chunk chunk) {
        if (state.get() != OPEN || !queue.isEmpty()) {
            return false;
        }
        for (WorkerSlot s : slots) {
            if (s.tryRunInCaller(chunk)) {
                return true;
            }
        }
        return false;
    }

    /** Blocks for the next chunk; null tells the calling slot to exit. */
    Chunk take() {
        while (true) {
            try {
                Chunk c = queue.take();
                return c == POISON ? null : c;
            } catch (InterruptedException e) {
                // a stale interrupt from the cancellation of a chunk that had already finished
                if (state.get() == TERMINATED) {
                    return null;
                }
            }
        }
    }

    public boolean isTerminated() {
        return state.get() == TERMINATED;
    }

    @Override
    public boolean isOpen() {
        return state.get() == OPEN;
    }

    @Override
    public void close() {
        if (state.compareAndSet(OPEN, CLOSING)) {
            for (int i = 0; i < slots.length; i++) {
                queue.add(POISON);
            }
        }
        join();
    }

    @Override
    public void terminate() {
        int previous = state.getAndSet(TERMINATED);
        if (previous != TERMINATED) {
            failQueued(new CancellationException("pool " + name + " was terminated before the task ran"));
            for (WorkerSlot s : slots) {
                if (s != null) {
                    Chunk c = s.current();
                    if (c != null) {
                        c.cancel(new CancellationException("pool " + name + " was terminated while " + c.describe()
                                + " was running"));
                    }
                    s.kill();
                    queue.add(POISON);
                }
            }
        }
        joinQuietly(5_000);
    }

    private void failQueued(RuntimeException reason) {
        List<Chunk> drained = new ArrayList<>();
        queue.drainTo(drained);
        for (Chunk c : drained) {
            if (c != POISON) {
                c.cancel(reason);
            } else {
                queue.add(POISON);
            }
        }
    }

    @Override
    public void join() {
        if (state.get() == OPEN) {
            throw new IllegalStateException("pool " + name + " is still open; call close() or terminate() before join()");
        }
        for (WorkerSlot s : slots) {
            if (s != null) {
                s.exited.join();
            }
        }
    }

    private void joinQuietly(long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        for (WorkerSlot s : slots) {
            if (s == null) {
                continue;
            }
            try {
                s.exited.get(Math.max(deadline - System.nanoTime(), 0), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                org.slf4j.LoggerFactory.getLogger(PoolCore.class).warn(
                        "pool {}: worker slot {} did not stop within {} ms (a task ignores interrupts)", name, s.index, millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (ExecutionException e) {
                // the slot ended with an error it already reported
            }
        }
    }
}
