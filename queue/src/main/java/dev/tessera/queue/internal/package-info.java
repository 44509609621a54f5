/**
 * The queue's shared-memory ring: its byte layout ({@link dev.tessera.queue.internal.QueueDescriptor}), the
 * lock-free slot protocol with crash recovery ({@link dev.tessera.queue.internal.SlotRing}), process
 * identities and the wait strategy. Not API: only {@code dev.tessera.queue} is.
 *
 * <p>Why fixed slots and not Agrona's variable-length records: Agrona's {@code ManyToOneRingBuffer} has one
 * consumer, which may move the head without a claim. With many consumers in many processes every record needs a
 * claim that names its claimer, so that a claim left by a killed process can be found and taken back with one
 * CAS; a slot array whose sequence words carry that name (Vyukov's bounded MPMC queue) gives that with one word
 * per record. The price is that every slot is as large as the largest message.
 */
package dev.tessera.queue.internal;
