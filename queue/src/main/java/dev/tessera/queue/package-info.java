/**
 * A queue of objects between the JVMs of one host: {@link dev.tessera.queue.SimpleQueue}, machin's
 * {@code SimpleQueue} for DJL users (many producers, many consumers, bounded, tensors as stubs or copies).
 *
 * <p>Design: the queue is one shared-memory segment of sharedmem (so {@code tessera shm ls|gc} and the reaper
 * see it), holding a ring of fixed-size slots after Agrona's ring buffers and Vyukov's bounded MPMC queue.
 * There is no broker process: producers and consumers claim slots with a CAS on the slot's state word, which
 * also names the claiming process, so that a claim left behind by a killed process is found and taken back.
 * Invariants: a message {@code put} returned for stays in the queue until a consumer's {@code get} takes it;
 * no slot stays claimed by a dead process once a live one waits on it. Layout and protocol: {@code
 * internal.QueueDescriptor} and {@code internal.SlotRing}.
 */
package dev.tessera.queue;
