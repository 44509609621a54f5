package dev.tessera.pool;

import dev.tessera.pool.internal.Chunk;
import dev.tessera.pool.internal.ChunkResult;
import dev.tessera.pool.internal.ChunkSink;
import dev.tessera.pool.internal.Engine;
import dev.tessera.pool.internal.Outcomes;
import dev.tessera.pool.internal.Task;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The lazy iterator behind {@code imap} and {@code imapUnordered}. It pulls arguments from the
 * source only to keep {@code window} chunks in flight, so memory stays bounded whatever the source's
 * length. Ordered mode waits for the oldest chunk; unordered mode takes chunks as they complete.
 * When the source throws, the arguments pulled before it still run: their results are yielded first,
 * then {@code next()} throws the source's exception once and the iteration ends (CPython's
 * {@code imap}). Confined to the thread that iterates it.
 */
final class ImapIterator<R> implements Iterator<R> {
    /** One finished chunk: its result, or the failure of the whole chunk. */
    private record Done(Chunk chunk, ChunkResult result, RuntimeException failure) {}

    private final Engine engine;
    private final Task task;
    private final Object taskKey;
    private final Iterator<?> source;
    private final int chunksize;
    private final boolean ordered;
    private final int window;
    private final ArrayDeque<CompletableFuture<Done>> inOrder = new ArrayDeque<>();
    private final LinkedBlockingQueue<Done> completed = new LinkedBlockingQueue<>();
    private final ArrayDeque<Object> buffer = new ArrayDeque<>();
    private final ChunkIds ids;
    private int outstanding;
    private long nextIndex;
    /** What the source threw; rethrown once every earlier result was yielded. */
    private RuntimeException sourceFailure;
    private boolean sourceFailureThrown;

    /** Marks a failed item in the buffer. */
    private record Failed(RuntimeException error) {}

    ImapIterator(Engine engine, ChunkIds ids, Task task, Object taskKey, Iterator<?> source, int chunksize,
            boolean ordered) {
        if (chunksize < 1) {
            throw new IllegalArgumentException("chunksize=" + chunksize + " (expected >= 1)");
        }
        this.engine = engine;
        this.ids = ids;
        this.task = task;
        this.taskKey = taskKey;
        this.source = source;
        this.chunksize = chunksize;
        this.ordered = ordered;
        this.window = engine.inline() ? 1 : 2 * engine.workers();
    }

    @Override
    public boolean hasNext() {
        topUp();
        return !buffer.isEmpty() || outstanding > 0 || sourceFailure != null && !sourceFailureThrown;
    }

    @Override
    public R next() {
        if (!hasNext()) {
            throw new NoSuchElementException("imap has no more results");
        }
        if (buffer.isEmpty() && outstanding == 0) {
            sourceFailureThrown = true; // only the source's failure is left
            throw sourceFailure;
        }
        if (buffer.isEmpty()) {
            fill(awaitNext());
            topUp();
        }
        Object item = buffer.poll();
        if (item instanceof Failed f) {
            throw f.error();
        }
        if (item == NULL) {
            return null;
        }
        @SuppressWarnings("unchecked")
        R r = (R) item;
        return r;
    }

    private void topUp() {
        while (sourceFailure == null && outstanding < window) {
            List<Object> args = new ArrayList<>(chunksize);
            try {
                while (args.size() < chunksize && source.hasNext()) {
                    args.add(source.next());
                }
            } catch (RuntimeException e) {
                sourceFailure = e; // thrown after the results of the arguments already pulled
            }
            if (args.isEmpty()) {
                return;
            }
            submit(args.toArray());
        }
    }

    private void submit(Object[] args) {
        CompletableFuture<Done> f = new CompletableFuture<>();
        ChunkSink sink = new ChunkSink() {
            @Override
            public void onResult(Chunk chunk, ChunkResult result) {
                deliver(f, new Done(chunk, result, null));
            }

            @Override
            public void onFailure(Chunk chunk, RuntimeException failure) {
                deliver(f, new Done(chunk, null, failure));
            }
        };
        Chunk c = new Chunk(ids.next(), task, taskKey, args, nextIndex, sink);
        nextIndex += args.length;
        outstanding++;
        if (ordered) {
            inOrder.add(f);
        }
        engine.submit(c);
    }

    private void deliver(CompletableFuture<Done> f, Done d) {
        if (ordered) {
            f.complete(d);
        } else {
            completed.add(d);
        }
    }

    private Done awaitNext() {
        try {
            return ordered ? inOrder.poll().get() : completed.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.util.concurrent.CancellationException("interrupted while waiting for imap results");
        } catch (ExecutionException e) {
            throw new IllegalStateException("imap chunk future failed", e.getCause());
        } finally {
            outstanding--;
        }
    }

    private void fill(Done d) {
        for (int i = 0; i < d.chunk().size(); i++) {
            if (d.failure() != null) {
                buffer.add(new Failed(d.failure()));
            } else if (d.result().error(i) != null) {
                buffer.add(new Failed(Outcomes.itemFailure(d.chunk(), i, d.result().error(i))));
            } else {
                buffer.add(d.result().values()[i] == null ? NULL : d.result().values()[i]);
            }
        }
    }

    private static final Object NULL = new Object();
}
