package dev.tessera.pool.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The chunks a {@link PoolCore} has not handed to a worker yet: one shared FIFO that any slot takes from,
 * and one FIFO per slot for chunks addressed to that slot ({@code P2PPool}). Thread-safe, one lock.
 *
 * <p>A slot takes from its own queue first, then from the shared one, so addressed work is never stuck
 * behind spread work that another worker could run. After {@link #close()} no chunk may be added and
 * {@link #take} returns null once the slot's own queue and the shared queue are both empty, so close lets
 * queued work finish without poison chunks. {@link #stop()} removes everything queued and makes every
 * {@code take} return null at once. A slot's own queue outlives the worker in the slot: chunks queued for
 * a worker that crashes run on its replacement.
 */
final class SlotQueues {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Chunk> shared = new ArrayDeque<>();
    private final List<ArrayDeque<Chunk>> own = new ArrayList<>();
    private boolean closing;
    private boolean stopped;

    SlotQueues(int slots) {
        for (int i = 0; i < slots; i++) {
            own.add(new ArrayDeque<>());
        }
    }

    /** Queues {@code c} for any slot; false if the queues are closed. */
    boolean add(Chunk c) {
        return offer(shared, c);
    }

    /** Queues {@code c} for slot {@code slot} only; false if the queues are closed. */
    boolean addTo(int slot, Chunk c) {
        return offer(own.get(slot), c);
    }

    private boolean offer(ArrayDeque<Chunk> queue, Chunk c) {
        lock.lock();
        try {
            if (closing || stopped) {
                return false;
            }
            queue.addLast(c);
            changed.signalAll(); // a chunk for one slot must wake that slot, so no single signal
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** The next chunk for {@code slot}, blocking; null once closed and drained for it, or stopped. */
    Chunk take(int slot) throws InterruptedException {
        lock.lock();
        try {
            while (true) {
                if (stopped) {
                    return null;
                }
                Chunk c = own.get(slot).pollFirst();
                if (c == null) {
                    c = shared.pollFirst();
                }
                if (c != null || closing) {
                    return c;
                }
                changed.await();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Whether nothing is queued for {@code slot} (its own queue and the shared one). */
    boolean idleFor(int slot) {
        lock.lock();
        try {
            return shared.isEmpty() && (slot < 0 || own.get(slot).isEmpty());
        } finally {
            lock.unlock();
        }
    }

    /** Accepts no more chunks; queued ones are still taken. Idempotent. */
    void close() {
        lock.lock();
        try {
            closing = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Accepts no more chunks and returns every queued one (to be cancelled); takes return null. */
    List<Chunk> stop() {
        lock.lock();
        try {
            stopped = true;
            List<Chunk> drained = new ArrayList<>(shared);
            shared.clear();
            for (ArrayDeque<Chunk> q : own) {
                drained.addAll(q);
                q.clear();
            }
            changed.signalAll();
            return drained;
        } finally {
            lock.unlock();
        }
    }
}
