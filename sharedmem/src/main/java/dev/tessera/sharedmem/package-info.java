/**
 * Shared-memory tensors for DJL and ND4J across JVMs on one machine.
 *
 * <p><b>What it is for.</b> Handing a large tensor to another process should cost a stub, not a copy:
 * {@link dev.tessera.sharedmem.SharedTensor} keeps a contiguous row-major tensor in a named
 * {@link dev.tessera.sharedmem.SharedSegment} (a file in {@code /dev/shm} mapped with FFM), a
 * {@link dev.tessera.sharedmem.TensorRef} of under 200 bytes names it, and any process on the machine maps
 * it back zero-copy as a {@code MemorySegment}, a {@code ByteBuffer}, a DJL {@code NDArray} or an ND4J
 * {@code INDArray}. {@link dev.tessera.sharedmem.TensorCodec} does this for whole object graphs, and
 * {@link dev.tessera.sharedmem.store.SharedStore} is a named key-value store of tensors and objects that every process
 * on the machine can open. A {@link dev.tessera.sharedmem.StagingPool} makes copies for another process one memcpy
 * into shared memory whose pages are already in place.
 *
 * <p><b>Invariants.</b>
 * <ul>
 *   <li>Every byte of a segment is reserved ({@code posix_fallocate}) before it is mapped: a full
 *       {@code /dev/shm} is a {@link dev.tessera.sharedmem.SegmentSpaceException}, never a SIGBUS.
 *   <li>Files are created {@code O_EXCL | O_NOFOLLOW}, mode 0600, with 128 random bits in their name, and
 *       are never opened through a symlink. A file is opened only if this user owns it and it has no
 *       group/other permission bits (checked on the opened descriptor), unless the caller opts in: see
 *       {@link dev.tessera.sharedmem.UntrustedFileException}.
 *   <li>A file another process truncates fails alone: the fault is caught where headers are read, and the
 *       mapping sweeper checks each idle mapping on its own.
 *   <li>A segment's header (see {@code internal.SegmentDescriptor}) counts references across processes and
 *       records which processes hold them; the last close unlinks the file, an owner's close and the reaper
 *       give back the references of holders that died, and the reaper removes files whose processes all
 *       died (also after {@code kill -9}). Every reference has a named owner (a handle, a tensor, a staging
 *       pool, a message in flight, a record such as a store entry; see {@code internal.SegmentReference}), and
 *       a double release or a release by a non-owner is an {@link java.lang.IllegalStateException}.
 *   <li>The segment layer knows nothing of the store ({@code dev.tessera.sharedmem.store}): a layer built on
 *       segments registers a segment kind ({@code internal.SegmentKind}) that the reaper and listings ask.
 *   <li>A mapping does not hold its file descriptor, so 10,000 live tensors use no extra descriptors.
 *   <li>A view never outlives its memory: closing a tensor closes its DJL and ND4J views first, and every
 *       later use of any view is an {@link java.lang.IllegalStateException}, not a segfault.
 * </ul>
 *
 * <p><b>Why this way.</b> Plain files in {@code /dev/shm} (rather than {@code shm_open} or SysV segments)
 * can be listed, inspected and removed with ordinary tools, and {@code FileChannel.map(..., Arena)} ties
 * each mapping to an explicit FFM arena, which gives deterministic unmapping and a checked
 * use-after-close. Liveness lives in the segment itself, not in a daemon, so there is nothing else to crash.
 */
package dev.tessera.sharedmem;
