package dev.tessera.pool.internal;

import dev.tessera.pool.PoolException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;

/**
 * A fixed set of worker slots fed from {@link SlotQueues}: one shared FIFO of chunks, and one FIFO per
 * slot for chunks addressed to it.
 *
 * <p>{@link #close()} closes the queues, so each slot takes what is still queued for it and then exits:
 * queued work finishes. {@link #terminate()} empties the queues first, failing what it removes, and then
 * kills running workers. The state moves OPEN → CLOSING → CLOSED or OPEN/CLOSING → TERMINATED, by CAS.
 */
final class PoolCore implements AddressedEngine {
    private static final int OPEN = 0;
    private static final int CLOSING = 1;
    private static final int TERMINATED = 2;

    private final String name;
    private final WorkerSetup setup;
    private final WorkerSlot[] slots;
    private final SlotQueues queues;
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
        this.queues = new SlotQueues(workers);
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
        if (state.get() != OPEN || !queues.add(chunk)) {
            throw closed();
        }
    }

    @Override
    public void submitTo(int slot, Chunk chunk) {
        if (slot < 0 || slot >= slots.length) {
            throw new IllegalArgumentException("workerIndex=" + slot + " (expected 0 <= workerIndex < "
                    + slots.length + ", the number of workers of pool " + name + ")");
        }
        if (state.get() != OPEN || !queues.addTo(slot, chunk)) {
            throw closed();
        }
    }

    private IllegalStateException closed() {
        return new IllegalStateException("pool " + name + " is closed; create a new pool to run more tasks");
    }

    @Override
    public boolean tryRunInCaller(Chunk chunk) {
        if (state.get() != OPEN || !queues.idleFor(-1)) {
            return false;
        }
        for (WorkerSlot s : slots) {
            if (queues.idleFor(s.index) && s.tryRunInCaller(chunk)) {
                return true;
            }
        }
        return false;
    }

    /** Blocks for the next chunk of slot {@code slot}; null tells the calling slot to exit. */
    Chunk take(int slot) {
        while (true) {
            try {
                return queues.take(slot);
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
            queues.close();
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
                }
            }
        }
        joinQuietly(5_000);
    }

    private void failQueued(RuntimeException reason) {
        for (Chunk c : queues.stop()) {
            c.cancel(reason);
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
