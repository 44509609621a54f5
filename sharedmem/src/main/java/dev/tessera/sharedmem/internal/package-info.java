/**
 * Implementation details of {@code dev.tessera.sharedmem} and the layers built on it; not an API, may change
 * without notice.
 *
 * <p>{@link dev.tessera.sharedmem.internal.SegmentDescriptor} is the single description of the shared header
 * layout and its memory ordering; {@link dev.tessera.sharedmem.internal.SegmentReference} is the one place the
 * reference count changes, each change a named operation by a named
 * {@link dev.tessera.sharedmem.internal.ReferenceOwner}; {@link dev.tessera.sharedmem.internal.SegmentLease} is
 * a handle's machinery (open, create, views, the leak-reporting Cleaner) and the narrow interface the store
 * builds on, with {@link dev.tessera.sharedmem.internal.SegmentKind}, the hook through which the reaper asks a
 * layer about its own files; {@link dev.tessera.sharedmem.internal.SegmentFiles} creates, reserves and maps
 * files, checking on the opened descriptor what {@link dev.tessera.sharedmem.internal.FileTrust} (the ownership
 * rule) admits; {@link dev.tessera.sharedmem.internal.SegmentMappings} shares one mapping per segment per
 * process; {@code Libc} holds the few libc calls the JDK lacks; {@link dev.tessera.sharedmem.internal.ProcessLiveness}
 * decides whether a recorded process still runs; and {@link dev.tessera.sharedmem.internal.Nd4jSupport} is the
 * only class that names ND4J types in code, which keeps ND4J an optional dependency.
 */
package dev.tessera.sharedmem.internal;
