/**
 * The JGroups side of a World, not API: the stack ({@link dev.tessera.distributed.internal.StackConfig} and
 * {@code tessera-tcp.xml}), the member ({@link dev.tessera.distributed.internal.Node}), its frames, payload codec,
 * replicated key table and remote failures.
 *
 * <p>Invariants: the key table changes only on the delivery of total-order multicasts and views; user code never
 * runs on a JGroups delivery thread; every wait is bounded by a timeout or ended by a view change.
 */
package dev.tessera.distributed.internal;
