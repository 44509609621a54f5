/**
 * A World of named JVMs on JGroups: membership, failure detection, RPC groups with replicated pair and service
 * tables, and barriers (after machin's {@code machin.parallel.distributed}).
 *
 * <p>Design: one JGroups channel per process ({@link dev.tessera.distributed.World}), TCP on one bound address,
 * discovery through the coordinator (rank 0), no multicast. Membership is the JGroups view; a member that dies is
 * excluded by failure detection (a closed socket at once, a silent member after the failure timeout), and every
 * operation that waited on it fails with {@link dev.tessera.distributed.MemberLostException} instead of hanging.
 * The pair/register table is replicated and changed only by total-order multicasts (SEQUENCER), so every member
 * agrees on the first writer without a home-made consensus, and no rank is a single point of failure. Payloads
 * travel through the project's TensorCodec behind its allow-list.
 */
package dev.tessera.distributed;
