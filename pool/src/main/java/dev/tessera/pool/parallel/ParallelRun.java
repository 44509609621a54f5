package dev.tessera.pool.parallel;

import dev.tessera.pool.SerializableCallable;
import dev.tessera.pool.SerializableFunction;
import dev.tessera.pool.TaskTimeoutException;
import dev.tessera.pool.parallel.ParallelBackend.Batch;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One {@link Parallel} call, driven by the consuming thread. Each step dispatches batches while fewer
 * than {@code preDispatch} batches are in flight (joblib's steady state: one new batch per completed
 * one), then waits for the next completion, which feeds the auto-batcher and the progress messages. The
 * first failure, a timeout, or an exception from the task iterator cancels every batch of the call
 * (interrupting threads, killing and replacing process workers), lets the backend abort what it still
 * runs when no other call is live, and is rethrown. No batch is dispatched once one has failed, so a
 * sequential backend, which completes batches inside {@code submit}, starts no task after a failed one.
 * Confined to the consuming thread; backends only add to the completion queue (and set {@code failed}).
 */
final class ParallelRun<R> implements Iterator<R> {
    /** A dispatched batch; {@code values} is set once it completed. */
    private static final class Dispatched {
        final Batch batch;
        final long dispatchedNanos = System.nanoTime();
        Object[] values;
        int next;

        Dispatched(Batch batch) {
            this.batch = batch;
        }
    }

    private record Done(Batch batch, Object[] values, RuntimeException failure) {}

    /** How the run tells its {@link Parallel} whether other calls are live when it aborts. */
    interface Owner {
        /** Called once when the run ends, normally or by abort; returns whether another call is still live. */
        boolean runEnded();
    }

    private final ParallelBackend backend;
    private final Owner owner;
    private final Iterator<? extends SerializableCallable<?>> tasks;
    private final boolean ordered;
    private final int fixedBatchSize;
    private final AutoBatcher batcher;
    private final int maxBatchesInFlight;
    private final Duration timeout;
    private final Progress progress;
    private final LinkedBlockingQueue<Done> completions = new LinkedBlockingQueue<>();
    private final Map<Batch, Dispatched> inFlight = new LinkedHashMap<>();
    private final ArrayDeque<Dispatched> inOrder = new ArrayDeque<>();
    private final Batch.Listener listener = new Batch.Listener() {
        @Override
        public void onResult(Batch batch, Object[] values) {
            completions.add(new Done(batch, values, null));
        }

        @Override
        public void onFailure(Batch batch, RuntimeException failure) {
            failed = true; // before the completion is visible, so no batch is dispatched after it is taken
            completions.add(new Done(batch, null, failure));
        }
    };
    private final ArrayDeque<Object> unorderedReady = new ArrayDeque<>();
    private long dispatchedTasks;
    private long dispatchedBatches;
    private long completedTasks;
    private boolean exhausted;
    private boolean finished;
    /** Set by the first failed batch, on any thread: dispatch no more, the failure is on its way. */
    private volatile boolean failed;

    ParallelRun(ParallelBackend backend, Owner owner, Iterator<? extends SerializableCallable<?>> tasks,
            boolean ordered, int batchSize, int preDispatch, Duration timeout, Progress progress) {
        this.backend = backend;
        this.owner = owner;
        this.tasks = tasks;
        this.ordered = ordered;
        this.fixedBatchSize = batchSize;
        this.batcher = batchSize == 0 ? new AutoBatcher(progress::debug) : null;
        this.maxBatchesInFlight = Math.max(1, preDispatch);
        this.timeout = backend.supportsTimeout() ? timeout : null;
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
                end();
                progress.allCompleted(completedTasks, dispatchedBatches);
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
        Dispatched head = inOrder.peek();
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
        Dispatched head = inOrder.peek();
        return head != null && head.values != null;
    }

    private int nextBatchSize() {
        return batcher == null ? fixedBatchSize : batcher.nextSize();
    }

    private void dispatch() {
        // ordered: batches not yet yielded count too, so memory stays bounded if the head is slow
        while (!exhausted && !failed && (ordered ? inOrder.size() : inFlight.size()) < maxBatchesInFlight) {
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
        SerializableFunction<?, ?> fn = commonFunction(callables);
        Object[] args = callables;
        if (fn != null) {
            args = new Object[callables.length];
            for (int i = 0; i < args.length; i++) {
                args[i] = ((Parallel.Delayed<?, ?>) callables[i]).arg();
            }
        }
        Dispatched d = new Dispatched(new Batch(fn, args, dispatchedTasks, listener));
        inFlight.put(d.batch, d);
        if (ordered) {
            inOrder.add(d);
        }
        dispatchedTasks += args.length;
        dispatchedBatches++;
        try {
            backend.submit(d.batch);
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
        for (Batch b : inFlight.keySet()) {
            long started = b.startedNanos();
            if (started != 0) {
                long deadline = started + timeout.toNanos() * b.size();
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
            throw abort(new TaskTimeoutException(late.describe() + " ran longer than the timeout of "
                    + timeout.toMillis() + " ms per task in worker " + late.workerName()
                    + "; the remaining tasks were cancelled"));
        }
        // batches still queued have no deadline yet: look again soon, when one may have started
        long wait = late == null ? TimeUnit.MILLISECONDS.toNanos(10) : Math.min(earliest - now, TimeUnit.MILLISECONDS.toNanos(10));
        return completions.poll(wait, TimeUnit.NANOSECONDS);
    }

    private void onDone(Done d) {
        Dispatched b = inFlight.remove(d.batch());
        if (b == null) {
            return;
        }
        if (d.failure() != null) {
            throw abort(d.failure());
        }
        if (batcher != null) {
            batcher.completed(b.batch.size(), (System.nanoTime() - b.dispatchedNanos) / 1e9);
        }
        if (ordered) {
            b.values = d.values();
        } else {
            for (Object v : d.values()) {
                unorderedReady.add(v == null ? NULL : v);
            }
        }
        completedTasks += b.batch.size();
        progress.batchCompleted(completedTasks, exhausted ? dispatchedTasks : -1, dispatchedBatches);
    }

    /** Cancels everything in flight and returns {@code cause} for the caller to throw. */
    private RuntimeException abort(RuntimeException cause) {
        boolean othersLive = end();
        CancellationException cancel = new CancellationException("cancelled because another task of the same "
                + "Parallel call failed: " + cause.getMessage());
        for (Batch b : inFlight.keySet()) {
            b.cancel(cancel);
        }
        if (!inFlight.isEmpty() && !othersLive) {
            backend.abortEverything();
        }
        inFlight.clear();
        inOrder.clear();
        unorderedReady.clear();
        progress.finish();
        return cause;
    }

    /** Marks the run finished and tells the owner, once; returns whether another call is still live. */
    private boolean end() {
        if (finished) {
            return true; // told already: do not abort on the owner's behalf twice
        }
        finished = true;
        return owner.runEnded();
    }

    private static final Object NULL = new Object();
}
