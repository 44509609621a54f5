package dev.tessera.distributed;

/**
 * How {@link CollectiveGroup#allReduce} and {@link CollectiveGroup#reduce} combine the ranks' elements; immutable and
 * thread-safe, owning nothing. Every rank of a collective must pass the same operation (a difference is an error on
 * every rank).
 */
public enum ReduceOp {
    /** The sum of the ranks' elements. */
    SUM,
    /** The product of the ranks' elements. */
    PRODUCT,
    /** The smallest element (floating point: NaN if any rank has NaN there). */
    MIN,
    /** The largest element (floating point: NaN if any rank has NaN there). */
    MAX,
    /**
     * The mean: the sum divided by the number of ranks (integer types: truncated toward zero); in the multi-GPU
     * collectives, by the number of ranks times the list's length.
     */
    AVG
}
