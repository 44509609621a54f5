package dev.tessera.assigner;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Moves each placed Block's parameters to its device in place ({@code moveModels}). Stateless. */
final class BlockMover {
    private static final Logger LOG = LoggerFactory.getLogger(BlockMover.class);

    private BlockMover() {}

    static void move(Map<Integer, Block> blocks, Placement placement) {
        int gpus = blocks.isEmpty() ? 0 : Engine.getInstance().getGpuCount();
        java.util.List<Device> where = placement.assignment();
        for (Map.Entry<Integer, Block> e : blocks.entrySet()) {
            Device device = where.get(e.getKey());
            if (device.isGpu() && (device.index() < 0 || device.index() >= gpus)) {
                LOG.warn("model '{}' is placed on {}, which DJL does not see ({} GPUs); its parameters stay where they are",
                        placement.models().get(e.getKey()), device.name(), gpus);
                continue;
            }
            moveBlock(e.getValue(), device.toDjlDevice());
        }
    }

    /** Moves every initialised parameter of the block to the device; the Parameter objects stay the same. */
    static void moveBlock(Block block, ai.djl.Device target) {
        for (Parameter p : block.getParameters().values()) {
            if (!p.isInitialized()) {
                continue;
            }
            NDArray array = p.getArray();
            if (!array.getDevice().equals(target)) {
                NDArray moved = array.toDevice(target, true);
                array.intern(moved); // array now owns the moved tensor; DJL closes the old one
            }
        }
    }
}
