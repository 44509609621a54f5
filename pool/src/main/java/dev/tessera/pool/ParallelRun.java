package dev.tessera.pool;

import dev.tessera.pool.internal.Chunk;
import dev.tessera.pool.internal.ChunkResult;
import dev.tessera.pool.internal.ChunkSink;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One {@link Parallel} call, driven by the consuming thread. Each step dispatches batches while fewer
 * than {@code preDispatch} batches are in flight (joblib's steady state: one new batch per completed
 * one), then waits for the next completion, which feeds the auto-batcher and the progress messages. The
 * first failure, a timeout, or an exception from the task iterator cancels every batch in flight
 * (interrupting threads, killing and replacing process workers) and is rethrown. Confined to the
 * consuming thread; workers only add to the completion queue.
 */
final class ParallelRun<R> implements Iterator<R> {
    /** A dispatched batch; {@code values} is set once it completed. */
    private static final class Batch {
        final Chunk chunk;
        final long dispatchedNanos = System.nanoTime();
        Object[] values;
        int next;

        Batch(Chunk chunk) {
            this.chunk = chunk;
        }
    }

    private record Done(Batch batch, ChunkResult result, RuntimeException failure) {}

    private final AbstractPool pool;
    private final Iterator<? extends SerializableCallable<?>> tasks;
    private final boolean ordered;
    private final int fixedBatchSize;
    private final AutoBatcher batcher;
    private final int maxBatchesInFlight;
    private final Duration timeout;
    private final Progress progress;
    private final LinkedBlockingQueue<Done> completions = new LinkedBlockingQueue<>();
    private final Set<Batch> inFlight = new LinkedHashSet<>();
    private final ArrayDeque<Batch> inOrder = new ArrayDeque<>();
    private final ArrayDeque<Object> unorderedReady = new ArrayDeque<>();
    private long dispatchedTasks;
    private long dispatchedBatches;
    private long completedTasks;
    private boolean exhausted;
    private boolean finished;

    ParallelRun(WorkerPool pool, Iterator<? extends SerializableCallable<?>> tasks, boolean ordered, int batchSize,
            int preDispatch, Duration timeout, Progress progress) {
        this.pool = (AbstractPool) pool;
        this.tasks = tasks;
        this.ordered = ordered;
        this.fixedBatchSize = batchSize;
        this.batcher = batchSize == 0 ? new AutoBatcher(progress::debug) : null;
        this.maxBatchesInFlight = Math.max(1, preDispatch);
        this.timeout = timeout;
        this.progress = progress;
    }

    @Override
    public boolean hasNext() {
        while (!readyToYield()) {
            if (finished) {
                return false;
            }
            dispatch();
            if (readyToYield()) {
                return true;
            }
            if (inFlight.isEmpty() && exhausted) {
                finished = true;
                progress.finish();
                return false;
            }
            awaitCompletion();
        }
        return true;
    }

    @Override
    @SuppressWarnings("unchecked")
    public R next() {
        if (!hasNext()) {
            throw new NoSuchElementException("no more results");
        }
        if (!ordered) {
            Object v = unorderedReady.poll();
            return v == NULL ? null : (R) v;
        }
        Batch head = inOrder.peek();
        Object v = head.values[head.next++];
        if (head.next == head.values.length) {
            inOrder.poll();
        }
        return (R) v;
    }

    private boolean readyToYield() {
        if (!ordered) {
            return !unorderedReady.isEmpty();
        }
        Batch head = inOrder.peek();
        return head != null && head.values != null;
    }

    private int nextBatchSize() {
        return batcher == null ? fixedBatchSize : batcher.nextSize();
    }

    private void dispatch() {
        // ordered: batches not yet yielded count too, so memory stays bounded if the head is slow
        while (!exhausted && (ordered ? inOrder.size() : inFlight.size()) < maxBatchesInFlight) {
            int size = nextBatchSize();
            List<Object> batch = new ArrayList<>(Math.min(size, 1 << 16));
            try {
                while (batch.size() < size && tasks.hasNext()) {
                    batch.add(tasks.next());
                }
            } catch (RuntimeException e) {
                throw abort(e); // joblib: an exception from the task iterator aborts the call
            }
            if (batch.size() < size) {
                exhausted = true;
            }
            if (batch.isEmpty()) {
                return;
            }
            submit(batch.toArray());
        }
    }

    /** The function all tasks of the batch delay, or null if they are not all {@code delayed(sameFn, x)}. */
    private static SerializableFunction<?, ?> commonFunction(Object[] callables) {
        if (!(callables[0] instanceof Parallel.Delayed<?, ?> first)) {
            return null;
        }
        for (Object c : callables) {
            if (!(c instanceof Parallel.Delayed<?, ?> d) || d.fn() != first.fn()) {
                return null;
            }
        }
        return first.fn();
    }

    private void submit(Object[] callables) {
        Batch[] holder = new Batch[1];
        SerializableFunction<?, ?> fn = commonFunction(callables);
        Object[] args = callables;
        if (fn != null) {
            args = new Object[callables.length];
            for (int i = 0; i < args.length; i++) {
                args[i] = ((Parallel.Delayed<?, ?>) callables[i]).arg();
            }
        }
        Chunk chunk = new Chunk(pool.ids.next(), fn == null ? Tasks.CALLABLE : Tasks.of(fn),
                fn == null ? Tasks.CALLABLE : fn, args, dispatchedTasks,
                new ChunkSink() {
                    @Override
                    public void onResult(Chunk c, ChunkResult result) {
                        completions.add(new Done(holder[0], result, null));
                    }

                    @Override
                    public void onFailure(Chunk c, RuntimeException failure) {
                        completions.add(new Done(holder[0], null, failure));
                    }
                });
        Batch b = new Batch(chunk);
        holder[0] = b;
        inFlight.add(b);
        if (ordered) {
            inOrder.add(b);
        }
        dispatchedTasks += args.length;
        dispatchedBatches++;
        try {
            pool.engine.submit(chunk);
        } catch (RuntimeException e) {
            throw abort(e);
        }
    }

    private void awaitCompletion() {
        Done d;
        try {
            d = timeout == null ? completions.take() : pollWithinTimeout();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw abort(new CancellationException("interrupted while waiting for Parallel results"));
        }
        if (d != null) {
            onDone(d);
        }
    }

    /** Waits for a completion, but no longer than the earliest deadline of a running batch. */
    private Done pollWithinTimeout() throws InterruptedException {
        long now = System.nanoTime();
        long earliest = Long.MAX_VALUE;
        Batch late = null;
        for (Batch b : inFlight) {
            long started = b.chunk.startedNanos();
            if (started != 0) {
                long deadline = started + timeout.toNanos() * b.chunk.size();
                if (deadline < earliest) {
                    earliest = deadline;
                    late = b;
                }
            }
        }
        if (late != null && earliest <= now) {
            Done ready = completions.poll();
            if (ready != null) {
                return ready; // it finished just in time
            }
            throw abort(new TaskTimeoutException(late.chunk.describe() + " ran longer than the timeout of "
                    + timeout.toMillis() + " ms per task in worker " + late.chunk.workerName()
                    + "; the remaining tasks were cancelled"));
        }
        // batches still queued have no deadline yet: look again soon, when one may have started
        long wait = late == null ? TimeUnit.MILLISECONDS.toNanos(10) : Math.min(earliest - now, TimeUnit.MILLISECONDS.toNanos(10));
        return completions.poll(wait, TimeUnit.NANOSECONDS);
    }

    private void onDone(Done d) {
        Batch b = d.batch();
        if (!inFlight.remove(b)) {
            return;
        }
        if (d.failure() != null) {
            throw abort(d.failure());
        }
        ChunkResult r = d.result();
        RuntimeException failure = Outcomes.firstFailure(b.chunk, r);
        if (failure != null) {
            throw abort(failure);
        }
        if (batcher != null) {
            batcher.completed(b.chunk.size(), (System.nanoTime() - b.dispatchedNanos) / 1e9);
        }
        if (ordered) {
            b.values = r.values();
        } else {
            for (Object v : r.values()) {
                unorderedReady.add(v == null ? NULL : v);
            }
        }
        completedTasks += b.chunk.size();
        progress.batchCompleted(completedTasks, exhausted ? dispatchedTasks : -1, dispatchedBatches);
    }

    /** Cancels everything in flight and returns {@code cause} for the caller to throw. */
    private RuntimeException abort(RuntimeException cause) {
        finished = true;
        CancellationException cancel = new CancellationException("cancelled because another task of the same "
                + "Parallel call failed: " + cause.getMessage());
        for (Batch b : inFlight) {
            b.chunk.cancel(cancel);
        }
        inFlight.clear();
        inOrder.clear();
        unorderedReady.clear();
        progress.finish();
        return cause;
    }

    private static final Object NULL = new Object();
}
