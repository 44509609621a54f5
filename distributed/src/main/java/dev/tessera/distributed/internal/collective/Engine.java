package dev.tessera.distributed.internal.collective;

import dev.tessera.distributed.ReduceOp;

/**
 * One data path of a collective group. Not thread-safe: the group runs one operation at a time, in issue order. Every
 * method first exchanges the ranks' {@link OpHeader}s and throws on every rank if they disagree or a rank rejected its
 * arguments ({@code localError} non-null here); then it moves data. The engine owns its segments, sockets and threads
 * until {@link #close()}.
 */
public interface Engine extends AutoCloseable {
    /**
     * All-reduce ({@code root < 0}) or reduce to group index {@code root}: the result lands in {@code buf}'s target
     * (every rank's, or only the root's).
     */
    void reduce(CollBuffer buf, ReduceOp op, int root, String localError, Deadline d);

    /** Group index {@code root}'s tensor lands in every other rank's {@code buf}. */
    void broadcast(CollBuffer buf, int root, String localError, Deadline d);

    /**
     * All-gather ({@code root < 0}) or gather to group index {@code root}: rank i's {@code in} lands in
     * {@code out[i]} of every rank (or only of the root; elsewhere {@code out} is null).
     */
    void gather(CollBuffer[] out, CollBuffer in, int root, String localError, Deadline d);

    /** The root's {@code in[i]} lands in rank i's {@code out} ({@code in} is null except at the root). */
    void scatter(CollBuffer out, CollBuffer[] in, int root, String localError, Deadline d);

    /**
     * Only the header exchange, as every data operation starts: returns every rank's header (by group index) once
     * they agree, and throws on every rank otherwise, exactly as the data operation with that header would. The NCCL
     * engine runs its headers through the group's host engine with this, so a rank with a CPU tensor and a rank
     * with a CUDA tensor meet in the same exchange and both see the mismatch.
     */
    OpHeader[] agree(OpHeader mine, String localError, Deadline d);

    /** Returns once every rank reached it. */
    void barrier(Deadline d);

    /** The transport's name, for messages and figures. */
    String transport();

    /** Releases the engine's resources; idempotent. */
    @Override
    void close();
}
