package dev.tessera.pool.internal;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A batch of arguments for one task, the unit that travels to a worker. Its state moves
 * QUEUED → RUNNING → DONE, or to CANCELLED from either of the first two; the sink hears exactly one
 * outcome because every transition to a final state is a CAS.
 */
public final class Chunk implements dev.tessera.pool.BatchSubmitter.Submission {
    static final int QUEUED = 0;
    static final int RUNNING = 1;
    static final int DONE = 2;
    static final int CANCELLED = 3;

    final long id;
    final Task task;
    final Object[] args;
    /** Index of the first argument within its call (map/imap), for messages. */
    final long firstIndex;
    /** Identity of the user's function, so a process worker receives each function only once; may be null. */
    final Object taskKey;
    private final ChunkSink sink;
    private volatile String workerName = "?";
    private volatile long startedNanos;
    private final AtomicInteger state = new AtomicInteger(QUEUED);
    private volatile WorkerSlot runningOn;

    public Chunk(long id, Task task, Object taskKey, Object[] args, long firstIndex, ChunkSink sink) {
        this.id = id;
        this.taskKey = taskKey;
        this.task = task;
        this.args = args;
        this.firstIndex = firstIndex;
        this.sink = sink;
    }

    public int size() {
        return args.length;
    }

    public long firstIndex() {
        return firstIndex;
    }

    /** Human description used in exception messages. */
    @Override
    public String describe() {
        return args.length == 1
                ? "task #" + firstIndex + " (chunk " + id + ")"
                : "tasks #" + firstIndex + ".." + (firstIndex + args.length - 1) + " (chunk " + id + ")";
    }

    /** Name of the worker that ran (or runs) this chunk. */
    @Override
    public String workerName() {
        return workerName;
    }

    /** When a worker took the chunk ({@link System#nanoTime()}), or 0 while it is queued. */
    @Override
    public long startedNanos() {
        return startedNanos;
    }

    boolean markRunning(WorkerSlot slot, String worker) {
        runningOn = slot;
        workerName = worker;
        startedNanos = System.nanoTime();
        return state.compareAndSet(QUEUED, RUNNING);
    }

    void complete(ChunkResult result) {
        if (state.compareAndSet(RUNNING, DONE)) {
            sink.onResult(this, result);
        }
    }

    /** Fails the chunk (crash, encoding failure of the whole message); a no-op once it is final. */
    void fail(RuntimeException failure) {
        if (state.compareAndSet(RUNNING, DONE) || state.compareAndSet(QUEUED, DONE)) {
            sink.onFailure(this, failure);
        }
    }

    /** Cancels the chunk only if no worker has taken it yet. */
    public boolean cancelIfQueued(RuntimeException reason) {
        if (state.compareAndSet(QUEUED, CANCELLED)) {
            sink.onFailure(this, reason);
            return true;
        }
        return false;
    }

    /**
     * Cancels the chunk: a queued chunk is simply skipped later; a running one has its worker
     * interrupted (threads) or killed and replaced (processes). Returns whether this call cancelled it.
     */
    @Override
    public boolean cancel(RuntimeException reason) {
        if (state.compareAndSet(QUEUED, CANCELLED)) {
            sink.onFailure(this, reason);
            return true;
        }
        if (state.compareAndSet(RUNNING, CANCELLED)) {
            sink.onFailure(this, reason);
            WorkerSlot slot = runningOn;
            if (slot != null) {
                slot.abort(this);
            }
            return true;
        }
        return false;
    }
}
