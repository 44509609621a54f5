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
    private final List<ArrayDeque<Chunk>> own = new ArrayList<>();
    private final ArrayDeque<Chunk> shared = new ArrayDeque<>();
    /** One condition a slot, so that a chunk wakes one waiting slot, not all of them. */
    private final List<Condition> wake = new ArrayList<>();
    /** The slots waiting in {@link #take}, longest first; {@code waiting[i]} says whether slot i is in it. */
    private final ArrayDeque<Integer> idle = new ArrayDeque<>();
    private final boolean[] waiting;
    private boolean closing;
    private boolean stopped;

    SlotQueues(int slots) {
        for (int i = 0; i < slots; i++) {
            own.add(new ArrayDeque<>());
            wake.add(lock.newCondition());
        }
        waiting = new boolean[slots];
    }

    /** Queues {@code c} for any slot, waking one waiting slot; false if the queues are closed. */
    boolean add(Chunk c) {
        return offer(-1, c);
    }

    /** Queues {@code c} for slot {@code slot} only, waking that slot; false if the queues are closed. */
    boolean addTo(int slot, Chunk c) {
        return offer(slot, c);
    }

    private boolean offer(int slot, Chunk c) {
        lock.lock();
        try {
            if (closing || stopped) {
                return false;
            }
            (slot < 0 ? shared : own.get(slot)).addLast(c);
            int target = slot >= 0 ? slot : idle.isEmpty() ? -1 : idle.peekFirst();
            if (target >= 0 && waiting[target]) {
                unmarkWaiting(target);
                wake.get(target).signal();
            } // else every slot is busy, and each looks at the queues before it waits again
            return true;
        } finally {
            lock.unlock();
        }
    }

    private void unmarkWaiting(int slot) {
        waiting[slot] = false;
        idle.remove(slot);
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
                    if (waiting[slot]) { // woken spuriously, or by a chunk another slot was woken for
                        unmarkWaiting(slot);
                    }
                    return c;
                }
                if (!waiting[slot]) {
                    waiting[slot] = true;
                    idle.addLast(slot);
                }
                try {
                    wake.get(slot).await();
                } catch (InterruptedException e) {
                    if (waiting[slot]) {
                        unmarkWaiting(slot);
                    } else if (!shared.isEmpty() && !idle.isEmpty()) { // it was woken for a chunk: pass that on
                        int next = idle.peekFirst();
                        unmarkWaiting(next);
                        wake.get(next).signal();
                    }
                    throw e;
                }
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
            wake.forEach(Condition::signalAll);
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
            wake.forEach(Condition::signalAll);
            return drained;
        } finally {
            lock.unlock();
        }
    }
}
