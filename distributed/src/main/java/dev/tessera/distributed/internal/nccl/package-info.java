/**
 * Not API: the native side of collectives on CUDA tensors, through Java's FFM (no JNI, nothing compiled).
 *
 * <p>{@link dev.tessera.distributed.internal.nccl.Nccl} and {@link dev.tessera.distributed.internal.nccl.CudaRuntime}
 * bind the C functions of {@code libnccl.so.2} and {@code libcudart}, found by
 * {@link dev.tessera.distributed.internal.nccl.NativeLibrary} on first use (a setting, the loader, python3's pip
 * packages), so a process that never puts a CUDA tensor in a collective never needs them.
 * {@link dev.tessera.distributed.internal.nccl.TorchTensors} reads a DJL PyTorch NDArray's device address, sizes and
 * strides through libtorch's stable C shim, from the libtorch DJL loaded.
 *
 * <p>Invariants: no C++ symbol is called (a C++ exception through an FFM frame would end the process); every return
 * code is checked and turned into an exception naming the call; nothing here owns a communicator (the engine does).
 */
package dev.tessera.distributed.internal.nccl;
