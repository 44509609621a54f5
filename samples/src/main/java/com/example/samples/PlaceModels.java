package com.example.samples;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import dev.tessera.assigner.DeviceSpec;
import dev.tessera.assigner.Devices;
import dev.tessera.assigner.ModelAssigner;
import dev.tessera.assigner.Placement;
import java.util.List;

/**
 * Places an encoder, a decoder and a critic (real DJL blocks) on this machine's GPUs and CPU, or on a virtual
 * set of 4 GPUs and a CPU when there is no GPU, and prints where each went.
 */
public final class PlaceModels {
    private PlaceModels() {}

    public static void main(String[] args) {
        try (NDManager manager = NDManager.newBaseManager()) {
            Block encoder = linear(manager, 1024, 2048);
            Block decoder = linear(manager, 2048, 1024);
            Block critic = linear(manager, 1024, 1);
            List<DeviceSpec> devices = Devices.hasGpu() ? Devices.detect() : Devices.virtualSet();
            ModelAssigner assigner = ModelAssigner.builder()
                    .addBlock("encoder", encoder)
                    .addBlock("decoder", decoder)
                    .addBlock("critic", critic)
                    .connect("encoder", "decoder", 8.0)
                    .connect("decoder", "critic", 1.0)
                    .setDevices(devices)
                    .optSeed(0)
                    .build();
            Placement placement = assigner.placement(); // moves nothing
            if (Devices.hasGpu()) {
                assigner.moveModels(); // virtual devices have nowhere to move to
            }
            placement.assignmentByName().forEach((model, device) -> System.out.println(model + " -> " + device));
            System.out.println(placement.cost());
        }
    }

    private static Block linear(NDManager manager, int in, int out) {
        Block block = Linear.builder().setUnits(out).build();
        block.initialize(manager, DataType.FLOAT32, new Shape(1, in));
        return block;
    }
}
