package dev.tessera.pool.internal;

import dev.tessera.pool.PoolException;
import dev.tessera.pool.RemoteException;
import dev.tessera.pool.TaskFailedException;

/** Turns an item's raw error into the exception the caller sees. Stateless. */
public final class Outcomes {
    private Outcomes() {}

    /** The failure of the chunk's first failed item, or null when every item succeeded. */
    public static RuntimeException firstFailure(Chunk chunk, ChunkResult result) {
        for (int i = 0; i < chunk.size(); i++) {
            if (result.error(i) != null) {
                return itemFailure(chunk, i, result.error(i));
            }
        }
        return null;
    }

    public static RuntimeException itemFailure(Chunk chunk, int item, Throwable error) {
        return itemFailure(chunk.firstIndex() + item, chunk.workerName(), error);
    }

    /** The exception for task {@code index} of a call, which threw {@code error} in worker {@code worker}. */
    public static RuntimeException itemFailure(long index, String worker, Throwable error) {
        if (error instanceof PoolException pe && !(error instanceof TaskFailedException)) {
            return pe;
        }
        String type = error instanceof RemoteException r ? r.remoteType() : error.getClass().getName();
        return new TaskFailedException("task #" + index + " failed in worker " + worker + ": " + type
                + (error.getMessage() == null ? "" : ": " + error.getMessage()), error);
    }
}
