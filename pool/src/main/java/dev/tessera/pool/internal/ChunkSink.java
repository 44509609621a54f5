package dev.tessera.pool.internal;

/** Receives the completion of a chunk exactly once; called on a worker's driver thread, so it must not block. */
public interface ChunkSink {
    /** The chunk ran; some items may have failed. */
    void onResult(Chunk chunk, ChunkResult result);

    /** The chunk as a whole failed: its worker crashed, it was cancelled, or the pool was terminated. */
    void onFailure(Chunk chunk, RuntimeException failure);
}
