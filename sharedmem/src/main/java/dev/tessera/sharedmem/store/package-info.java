/**
 * A named key-value store of tensors and objects that every process of a user on the machine can open:
 * {@link dev.tessera.sharedmem.store.SharedStore}, and {@link dev.tessera.sharedmem.store.StoreFullException}.
 *
 * <p><b>How it sits on segments.</b> The store is a layer on the segment layer, which knows nothing of it: the
 * index is a segment of the store's registered kind ({@link dev.tessera.sharedmem.store.StoreSegmentKind}, found
 * by the reaper through the service loader), opened through a mapping of its own because its file name is reused;
 * values over 320 bytes are segments linked to the index by the store's name and the index's generation, whose
 * reference an index entry owns (a record owner of {@code internal.SegmentReference}); whoever removes the entry,
 * in any process, releases it. The reaper asks the store's kind whether a live store still holds a linked value.
 *
 * <p><b>Invariants.</b> The index ({@code StoreIndexDescriptor}: an open-addressing table of 512-byte entries) is
 * changed only under a lock whose holder is known by pid; a holder that dies is taken over and its half-done change
 * is finished or dropped from a redo record. Readers take no lock (a seqlock). A value is never freed under a
 * reader: a reader holds its own reference. Index files carry their creator's uid in their name, so users never
 * share or squat each other's stores by accident.
 */
package dev.tessera.sharedmem.store;
