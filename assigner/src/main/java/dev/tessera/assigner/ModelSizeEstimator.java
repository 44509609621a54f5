package dev.tessera.assigner;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * Estimates how much memory a DJL {@link Block} needs: the bytes of its parameters (weights, biases and running
 * statistics, which DJL keeps as parameters) plus any other NDArray the block or its children hold in a field,
 * each counted once, by dtype size. Stateless and thread-safe, but the block must not change during a call.
 *
 * <p>Parameters that are not initialised yet count by their declared shape when DJL knows it, else as 0.
 */
public final class ModelSizeEstimator {
    /** machin's default: room for the parameters and as much again for gradients and activations. */
    public static final double DEFAULT_SIZE_MULTIPLIER = 2;

    private static final double BYTES_PER_MB = 1024.0 * 1024.0;

    private ModelSizeEstimator() {}

    /**
     * Size in MB (2^20 bytes) of the block's tensors, as {@link #bytes(Block)} counts them.
     *
     * @param block the block; not modified
     * @return the size in MB (>= 0)
     */
    public static double sizeMb(Block block) {
        return bytes(block) / BYTES_PER_MB;
    }

    /**
     * {@link #sizeMb(Block)} times {@code sizeMultiplier}, as machin's assigner estimates demand.
     *
     * @param block the block; not modified
     * @param sizeMultiplier the multiplier (> 0), usually {@link #DEFAULT_SIZE_MULTIPLIER}
     * @return the estimated demand in MB
     * @throws IllegalArgumentException when {@code sizeMultiplier} is not > 0 (the message gives the value)
     */
    public static double estimateMb(Block block, double sizeMultiplier) {
        if (!(sizeMultiplier > 0)) {
            throw new IllegalArgumentException("sizeMultiplier=" + sizeMultiplier + " (expected > 0)");
        }
        return sizeMb(block) * sizeMultiplier;
    }

    /**
     * Bytes held by the block's parameters and by NDArray (or NDList) fields of the block and its children, each
     * array counted once. Closed arrays and fields the module system hides count 0; an uninitialised parameter
     * counts as float32 of its declared shape.
     *
     * @param block the block; not modified
     * @return the number of bytes (>= 0)
     */
    public static long bytes(Block block) {
        Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        long total = 0;
        ArrayDeque<Block> todo = new ArrayDeque<>();
        todo.add(block);
        while (!todo.isEmpty()) {
            Block b = todo.poll();
            if (!seen.add(b)) {
                continue;
            }
            for (Parameter p : b.getDirectParameters().values()) {
                total += parameterBytes(p, seen);
            }
            total += fieldBytes(b, seen);
            b.getChildren().values().forEach(todo::add);
        }
        return total;
    }

    private static long parameterBytes(Parameter p, Set<Object> seen) {
        if (p.isInitialized()) {
            NDArray array = p.getArray();
            return seen.add(array) ? arrayBytes(array) : 0;
        }
        if (p.getShape() != null) {
            return p.getShape().size() * 4L; // DJL initialises float32 unless told otherwise
        }
        return 0;
    }

    private static long fieldBytes(Block b, Set<Object> seen) {
        long total = 0;
        for (Class<?> c = b.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers())
                        || !(NDArray.class.isAssignableFrom(f.getType()) || NDList.class.isAssignableFrom(f.getType()))) {
                    continue;
                }
                Object value = read(f, b);
                if (value instanceof NDArray array && seen.add(array)) {
                    total += arrayBytes(array);
                } else if (value instanceof NDList list) {
                    for (NDArray array : list) {
                        if (seen.add(array)) {
                            total += arrayBytes(array);
                        }
                    }
                }
            }
        }
        return total;
    }

    private static Object read(Field f, Object owner) {
        try {
            f.setAccessible(true);
            return f.get(owner);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null; // a field we may not read (module boundary): its bytes are not counted
        }
    }

    private static long arrayBytes(NDArray array) {
        if (array.isReleased()) {
            return 0;
        }
        return array.size() * array.getDataType().getNumOfBytes();
    }
}
