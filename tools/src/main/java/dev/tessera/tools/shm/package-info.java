/**
 * {@code ./tessera shm ls|gc}: a picocli front end over {@link dev.tessera.sharedmem.SegmentReaper}. It holds
 * no state and creates no segments, so it is safe to run at any time, even while other processes use them.
 */
package dev.tessera.tools.shm;
