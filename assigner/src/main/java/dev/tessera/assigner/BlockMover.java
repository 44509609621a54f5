package dev.tessera.assigner;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.initializer.Initializer;
import java.util.Map;

/**
 * Moves placed Blocks' parameters to their devices in place ({@link ModelAssigner#moveModels()}, {@link
 * PlacedBlock}). Stateless.
 */
final class BlockMover {
    private BlockMover() {}

    /** Checks every target first, then moves each block; nothing moves when a target is not a device DJL sees. */
    static void move(Map<Integer, Block> blocks, Placement placement) {
        java.util.List<DeviceSpec> where = placement.assignment();
        for (Map.Entry<Integer, Block> e : blocks.entrySet()) {
            djlDevice(placement.models().get(e.getKey()), where.get(e.getKey()));
        }
        for (Map.Entry<Integer, Block> e : blocks.entrySet()) {
            moveBlock(e.getValue(), where.get(e.getKey()).toDjlDevice());
        }
    }

    /** The DJL device of a placed model, or an exception naming the model when DJL cannot reach the device. */
    static ai.djl.Device djlDevice(String model, DeviceSpec device) {
        if (device.isGpu() && device.index() < 0) {
            throw new IllegalStateException("model '" + model + "' is placed on " + device.name() + ", a virtual device"
                    + " with no DJL device; place on Devices.detect() to move or run the model");
        }
        return checkVisible(model, device.toDjlDevice());
    }

    /** The device itself, or an exception naming the model when it is a GPU beyond DJL's GPU count. */
    static ai.djl.Device checkVisible(String model, ai.djl.Device device) {
        if (device.isGpu()) {
            int gpus = Engine.getInstance().getGpuCount();
            if (device.getDeviceId() >= gpus) {
                throw new IllegalStateException("model '" + model + "' is placed on " + device + ", which DJL does not see"
                        + " (" + gpus + " GPUs); place on Devices.detect(), or run where that GPU is visible");
            }
        }
        return device;
    }

    /**
     * Moves every initialised parameter of the block to the device; the Parameter objects stay the same, each gets a
     * new array on the target (the old one is closed), and a parameter that requires a gradient still does.
     *
     * <p>Not {@code array.intern(moved)}: PyTorch's NDArray caches its device on first read and intern swaps only the
     * tensor, so the moved parameter went on reporting {@code cpu()} (seen on an H200: every later op that asked the
     * array for its device went wrong). Not {@code setArray}: DJL allows it only before a shape is set. Instead the
     * parameter is closed and re-initialised with an initializer that hands back the moved array, and its own
     * initializer is put back.
     */
    static void moveBlock(Block block, ai.djl.Device target) {
        for (Parameter p : block.getParameters().values()) {
            if (!p.isInitialized()) {
                continue;
            }
            NDArray array = p.getArray();
            if (array.getDevice().equals(target)) {
                continue;
            }
            NDArray moved = array.toDevice(target, true); // PyTorch copies without recording autograd
            Initializer own = p.getInitializer();
            p.close(); // closes the old array
            p.setInitializer((manager, shape, dataType) -> moved);
            try {
                p.initialize(moved.getManager(), moved.getDataType()); // sets requiresGradient when p requires it
            } finally {
                p.setInitializer(own);
            }
        }
    }
}
