package dev.tessera.assigner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.basicmodelzoo.cv.classification.ResNetV1;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import java.util.List;
import org.junit.jupiter.api.Test;

class ModelGraphTest {
    private static final double MB = 1024.0 * 1024.0;

    private static SequentialBlock mlp() {
        return new SequentialBlock()
                .add(Linear.builder().setUnits(64).build())
                .add(Activation.reluBlock())
                .add(Linear.builder().setUnits(10).build());
    }

    @Test
    void readsAnMlpPartByPart() {
        try (NDManager manager = NDManager.newBaseManager()) {
            SequentialBlock net = mlp();
            net.initialize(manager, DataType.FLOAT32, new Shape(8, 32));
            ModelGraph g = ModelGraph.of(net, new Shape(8, 32));

            assertEquals(List.of("01Linear", "02LambdaBlock", "03Linear"), g.names());
            List<ModelGraph.Part> p = g.parts();
            for (int i = 0; i < 3; i++) {
                Block child = net.getChildren().get(i).getValue();
                assertEquals(ModelSizeEstimator.sizeMb(child), p.get(i).sizeMb(), 0, g.names().get(i));
                assertEquals(p.get(i).parameterMb(), p.get(i).sizeMb(), 0);
            }
            assertEquals((32 * 64 + 64) * 4 / MB, p.get(0).sizeMb(), 1e-15);
            assertEquals(0, p.get(1).sizeMb());
            // volumes: the float32 output of each part
            assertEquals(List.of(new Shape(8, 64)), p.get(0).outputShapes());
            assertEquals(8 * 64 * 4 / MB, p.get(0).outputMb(), 1e-15);
            assertEquals(8 * 64 * 4 / MB, p.get(1).outputMb(), 1e-15);
            assertEquals(8 * 10 * 4 / MB, p.get(2).outputMb(), 1e-15);
            assertEquals(List.of(new Shape(8, 64)), p.get(2).inputShapes());
            // multiply-accumulates: batch x out x in for each Linear, nothing for the activation
            assertEquals(8 * 64 * 32, p.get(0).complexity());
            assertEquals(0, p.get(1).complexity());
            assertEquals(8 * 10 * 64, p.get(2).complexity());
            assertTrue(p.stream().allMatch(ModelGraph.Part::complexityFromShapes));
        }
    }

    @Test
    void countsActivationsOnlyWhenAsked() {
        try (NDManager manager = NDManager.newBaseManager()) {
            SequentialBlock net = mlp();
            ModelGraph g = ModelGraph.builder().setModel(net).setInputShape(new Shape(8, 32))
                    .optInitializeOn(manager).optActivations(true).build();
            ModelGraph.Part first = g.parts().get(0);
            assertEquals(8 * 64 * 4 / MB, first.activationMb(), 1e-15);
            assertEquals(first.parameterMb() + first.activationMb(), first.sizeMb(), 1e-15);
            assertTrue(g.countsActivations());
            ModelGraph half = ModelGraph.builder().setModel(net).setInputShape(new Shape(8, 32))
                    .optDataType(DataType.FLOAT16).build();
            assertEquals(8 * 64 * 2 / MB, half.parts().get(0).outputMb(), 1e-15);
        }
    }

    @Test
    void anUninitialisedModelIsRejectedNamingTheChildOrInitialisedWhenGivenAManager() {
        SequentialBlock net = mlp();
        var e = assertThrows(IllegalArgumentException.class, () -> ModelGraph.of(net, new Shape(8, 32)));
        assertTrue(e.getMessage().contains("'01Linear'") && e.getMessage().contains("optInitializeOn"), e.getMessage());
        try (NDManager manager = NDManager.newBaseManager()) {
            ModelGraph g = ModelGraph.builder().setModel(net).setInputShape(new Shape(8, 32)).optInitializeOn(manager).build();
            assertTrue(net.isInitialized());
            assertEquals((32 * 64 + 64) * 4 / MB, g.parts().get(0).sizeMb(), 1e-15);
        }
    }

    @Test
    void badArgumentsNameTheValue() {
        var shape = assertThrows(IllegalArgumentException.class, () -> ModelGraph.builder().setInputShape(new Shape(8, -1)));
        assertTrue(shape.getMessage().contains("inputShape=(8, -1)"), shape.getMessage());
        var leaf = assertThrows(IllegalArgumentException.class,
                () -> ModelGraph.of(Linear.builder().setUnits(3).build(), new Shape(1, 2)));
        assertTrue(leaf.getMessage().contains("no children"), leaf.getMessage());
        var missing = assertThrows(IllegalStateException.class, () -> ModelGraph.builder().setModel(mlp()).build());
        assertTrue(missing.getMessage().contains("setInputShape"), missing.getMessage());
    }

    @Test
    void readsASmallResNetAgainstTheEstimatorAndDjlsShapes() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Shape input = new Shape(2, 3, 32, 32);
            Block resnet = ResNetV1.builder().setImageShape(new Shape(3, 32, 32)).setNumLayers(18).setOutSize(10).build();
            ModelGraph g = ModelGraph.builder().setModel(resnet).setInputShape(input).optInitializeOn(manager).build();

            assertEquals(resnet.getChildren().size(), g.parts().size());
            double total = 0;
            Shape[] shapes = {input};
            for (int i = 0; i < g.parts().size(); i++) {
                ModelGraph.Part part = g.parts().get(i);
                Block child = resnet.getChildren().get(i).getValue();
                assertEquals(ModelSizeEstimator.sizeMb(child), part.sizeMb(), 0, part.name());
                shapes = child.getOutputShapes(shapes);
                assertEquals(List.of(shapes), part.outputShapes(), part.name());
                assertEquals(shapes[0].size() * 4 / MB, part.outputMb(), 1e-12, part.name());
                total += part.sizeMb();
            }
            assertEquals(ModelSizeEstimator.sizeMb(resnet), total, 1e-9);
            assertEquals(new Shape(2, 10), shapes[0]);
            // The stem: a 3x3 convolution with 64 filters on 3 channels keeps 32x32: 2*64*32*32 outputs x 27 MACs.
            ModelGraph.Part stem = g.parts().get(0);
            assertEquals(2.0 * 64 * 32 * 32 * 27, stem.complexity());
            assertTrue(stem.complexityFromShapes());
            // Residual units hold batch norms, which take the parameter fallback.
            assertTrue(g.parts().stream().anyMatch(p -> !p.complexityFromShapes()));
            // ResNet-18 on 32x32 images is about 0.56 G multiply-accumulates per image.
            // DJL's first residual unit (bottleneck, 64 -> 16 -> 16 -> 64 channels, with a 1x1 shortcut convolution),
            // on 2 x 32 x 32 positions: 1x1 64->16, 3x3 16->16, 1x1 16->64 and the 1x1 64->64 shortcut, plus its four
            // batch norms by the fallback: 4 parameters per channel x batch 2.
            double convs = 2.0 * 32 * 32 * (16 * 64 + 16 * 16 * 9 + 64 * 16 + 64 * 64);
            assertEquals(convs + 2 * 4 * (16 + 16 + 64 + 64), g.parts().get(1).complexity());
        }
    }

    @Test
    void feedsTheAssignerDirectly() {
        try (NDManager manager = NDManager.newBaseManager()) {
            SequentialBlock net = mlp();
            ModelGraph g = ModelGraph.builder().setModel(net).setInputShape(new Shape(8, 32)).optInitializeOn(manager).build();
            ModelAssigner.Builder b = ModelAssigner.builder().addModel("loader", 1).addGraph(g);
            assertEquals(List.of("loader", "01Linear", "02LambdaBlock", "03Linear"), b.names);
            assertEquals(g.parts().get(0).sizeMb(), b.sizes.get(1), 0);
            assertEquals(g.parts().get(2).complexity(), b.complexities.get(3), 0);
            assertEquals(3, b.blocks.size());
            assertEquals(2, b.edges.size());
            assertEquals(List.of(1, 2), List.of(b.edges.get(0)[0], b.edges.get(0)[1]));
            assertEquals(List.of(2, 3), List.of(b.edges.get(1)[0], b.edges.get(1)[1]));
            assertEquals(List.of(g.parts().get(0).outputMb(), g.parts().get(1).outputMb()), b.volumes);
            Placement p = b.setDevices(List.of(DeviceSpec.cpu(1024))).optIterations(0).build().placement();
            assertEquals(List.of("loader", "01Linear", "02LambdaBlock", "03Linear"), p.models());
            var twice = assertThrows(IllegalArgumentException.class, () -> b.addGraph(g));
            assertTrue(twice.getMessage().contains("'01Linear'"), twice.getMessage());
            assertEquals(4, b.names.size(), "a rejected graph adds nothing");
            assertFalse(g.toString().isEmpty());
        }
    }
}
