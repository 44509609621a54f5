/**
 * Not API: the data paths of {@code CollectiveGroup}.
 *
 * <p>An {@link dev.tessera.distributed.internal.collective.Engine} runs one collective at a time, in the order every
 * rank issues them. Two engines: {@link dev.tessera.distributed.internal.collective.ShmEngine} (ranks on one host
 * read each other's slots of one shared segment, synchronised by per-rank phase words in it) and
 * {@link dev.tessera.distributed.internal.collective.TcpEngine} (ring all-reduce and all-gather, direct sends from
 * and to the root otherwise, over a {@link dev.tessera.distributed.internal.collective.Mesh} of sockets), and beside
 * either {@link dev.tessera.distributed.internal.collective.NcclEngine} for CUDA tensors, which runs its headers
 * through the host engine's exchange and then NCCL. {@link dev.tessera.distributed.internal.collective.ListCollectives}
 * builds the multi-GPU collectives (a list of tensors per rank) from one collective of these engines each.
 *
 * <p>Invariants: every collective starts with an exchange of {@link dev.tessera.distributed.internal.collective.OpHeader}s
 * (operation, root, reduce op, dtype, shape, list length, and whether the rank's own arguments were valid), and every
 * rank checks all of them before touching data, so a mismatch is the same error on every rank, never a hang or
 * garbage. Every wait is bounded by the operation's deadline and checks the World's view (and, on shared memory, the
 * peers' processes), so a dead peer ends it with {@code MemberLostException}. After a failure the engine is broken: the
 * ranks may be at different points of the protocol, and only a new group resynchronises them.
 */
package dev.tessera.distributed.internal.collective;
