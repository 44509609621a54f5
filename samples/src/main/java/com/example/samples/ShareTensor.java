package com.example.samples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.tessera.sharedmem.SharedTensor;
import dev.tessera.sharedmem.TensorRef;

/**
 * Copies a DJL NDArray into shared memory once, turns it into a small reference stub (the bytes another JVM
 * would receive), opens the stub again and changes the tensor through a zero-copy view.
 */
public final class ShareTensor {
    private ShareTensor() {}

    public static void main(String[] args) {
        try (NDManager manager = NDManager.newBaseManager();
                SharedTensor shared = SharedTensor.copyOf(manager.arange(0f, 8f).reshape(2, 4))) {
            byte[] stub = shared.ref().toBytes();
            System.out.println("stub: " + stub.length + " bytes for a " + shared.byteSize() + "-byte tensor");
            try (SharedTensor opened = TensorRef.fromBytes(stub).open()) {
                NDArray view = opened.toNDArray(manager); // zero-copy: writes land in shared memory
                view.muli(10);
            }
            System.out.println("seen through the first handle: " + shared.toNDArray(manager));
        }
    }
}
