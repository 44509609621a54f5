/**
 * Implementation details of {@code dev.tessera.sharedmem}; not an API, may change without notice.
 *
 * <p>{@link dev.tessera.sharedmem.internal.SegmentDescriptor} is the single description of the shared header
 * layout and its memory ordering; {@link dev.tessera.sharedmem.internal.SegmentFiles} creates, reserves and
 * maps files, checking on the opened descriptor what {@link dev.tessera.sharedmem.internal.FileTrust} (the
 * ownership rule) admits; {@link dev.tessera.sharedmem.internal.Libc} holds the few libc calls the JDK lacks;
 * {@link dev.tessera.sharedmem.internal.StoreIndexDescriptor} and
 * {@link dev.tessera.sharedmem.internal.StoreIndex} describe and operate a {@code SharedStore}'s index;
 * {@link dev.tessera.sharedmem.internal.ProcessLiveness} decides whether a recorded process still runs; and
 * {@link dev.tessera.sharedmem.internal.Nd4jSupport} is the only class that names ND4J types in code, which
 * keeps ND4J an optional dependency.
 */
package dev.tessera.sharedmem.internal;
