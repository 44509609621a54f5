package dev.tessera.training.testing;

import ai.djl.Model;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.Trainer;
import dev.tessera.sharedmem.InvalidTensorRefException;
import dev.tessera.sharedmem.SharedSegment;
import dev.tessera.sharedmem.SharedTensor;
import dev.tessera.training.ParameterHandle;
import dev.tessera.training.SharedParameter;
import dev.tessera.training.SharedParameters;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * The program cross-JVM tests run in a child JVM. Scenarios that would crash the JVM if a lifetime rule broke
 * run here too, so a crash is a failed assertion (exit code) instead of a dead test JVM.
 */
public final class TrainingChild {
    private static final BufferedReader STDIN =
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));

    private TrainingChild() {}

    public static void main(String[] args) throws Exception {
        try {
            switch (args[0]) {
                case "attach" -> attach(ParameterHandle.fromBytes(HexFormat.of().parseHex(args[1])));
                case "gc-dropped" -> gcWhileDropped(Integer.parseInt(args[1]));
                case "close-then-use" -> closeThenUse(Integer.parseInt(args[1]));
                default -> throw new IllegalArgumentException("unknown command " + args[0]);
            }
        } catch (Throwable t) {
            System.out.println("ERROR " + t);
            t.printStackTrace();
            System.exit(1);
        }
        System.out.flush();
    }

    /** A worker: attaches a Block with other initial values, then obeys sum / sgd / close / exit from stdin. */
    private static void attach(ParameterHandle handle) throws Exception {
        try (Model model = Mlp.model(8, 99); Trainer trainer = Mlp.sgd(model);
                NDManager data = NDManager.newBaseManager()) {
            SharedParameters shared = handle.attach(model.getBlock());
            System.out.println("ATTACHED " + Mlp.sum(Mlp.values(model.getBlock())));
            for (String line = STDIN.readLine(); line != null && !line.equals("exit"); line = STDIN.readLine()) {
                switch (line) {
                    case "sum" -> { }
                    case "sgd" -> Mlp.step(trainer, Mlp.batch(data, 7));
                    case "close" -> shared.close();
                    default -> throw new IllegalArgumentException("unknown line " + line);
                }
                System.out.println("SUM " + Mlp.sum(Mlp.values(model.getBlock())));
            }
        }
        System.out.println("EXITED");
    }

    /**
     * The SharedParameters object is dropped unclosed and collections run all the time while the Block trains
     * with Adam: the memory must stay mapped, and every step must land in it. Closing the model releases it.
     */
    private static void gcWhileDropped(int steps) throws Exception {
        byte[] handle;
        float[] initial;
        try (Model model = Mlp.model(8, 1); Trainer trainer = Mlp.adam(model);
                NDManager data = NDManager.newBaseManager(); GcPressure gc = new GcPressure()) {
            handle = shareAndDrop(model.getBlock());
            initial = Mlp.values(model.getBlock());
            for (int i = 0; i < steps; i++) {
                Mlp.step(trainer, Mlp.batch(data, i));
                check(Arrays.equals(Mlp.values(model.getBlock()), sharedValues(handle)),
                        "step " + i + ": the parameters left shared memory");
                System.out.println("STEP " + i); // progress: the parent's wait for a line is bounded
            }
            check(!Arrays.equals(initial, Mlp.values(model.getBlock())), "training changed nothing");
            check(fileCount() == 1, "one segment while training, found " + fileCount());
        }
        check(fileCount() == 0, "closing the model released the segment, found " + fileCount());
        System.out.println("OK");
    }

    private static byte[] shareAndDrop(Block block) {
        return SharedParameters.share(block).handle().toBytes(); // the SharedParameters becomes unreachable
    }

    /** Close under collections, then go on training: the Block must have private copies, never unmapped memory. */
    private static void closeThenUse(int steps) throws Exception {
        try (Model model = Mlp.model(8, 2); Trainer trainer = Mlp.sgd(model);
                NDManager data = NDManager.newBaseManager(); GcPressure gc = new GcPressure()) {
            Block block = model.getBlock();
            SharedParameters shared = SharedParameters.share(block);
            Mlp.step(trainer, Mlp.batch(data, 0));
            float[] before = Mlp.values(block);
            shared.close();
            check(fileCount() == 0, "close released the only reference, found " + fileCount());
            check(Arrays.equals(before, Mlp.values(block)), "close kept the values");
            for (int i = 1; i <= steps; i++) {
                Mlp.step(trainer, Mlp.batch(data, i));
                System.out.println("STEP " + i); // progress: the parent's wait for a line is bounded
            }
            float[] after = Mlp.values(block);
            check(!Arrays.equals(before, after), "the Block trains after close");
            for (float v : after) {
                check(Float.isFinite(v), "finite values after close: " + v);
            }
            try (Model other = Mlp.model(8, 3)) {
                try {
                    shared.handle().attach(other.getBlock());
                    check(false, "attached to a segment every process closed");
                } catch (InvalidTensorRefException expected) {
                    System.out.println("GONE " + expected.getMessage());
                }
            }
        }
        System.out.println("OK");
    }

    private static float[] sharedValues(byte[] handleBytes) {
        ParameterHandle handle = ParameterHandle.fromBytes(handleBytes);
        int n = 0;
        for (SharedParameter p : handle.parameters()) {
            n += (int) (p.ref().byteSize() / Float.BYTES);
        }
        float[] all = new float[n];
        int at = 0;
        for (SharedParameter p : handle.parameters()) {
            try (SharedTensor t = p.ref().openReadOnly()) {
                float[] v = t.segment().toArray(ValueLayout.JAVA_FLOAT);
                System.arraycopy(v, 0, all, at, v.length);
                at += v.length;
            }
        }
        return all;
    }

    private static long fileCount() throws Exception {
        try (Stream<Path> files = Files.list(SharedSegment.defaultDirectory())) {
            return files.count();
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    /** A thread that runs System.gc() back to back, as assigner's RelaxationTest does. */
    private static final class GcPressure implements AutoCloseable {
        private final AtomicBoolean stop = new AtomicBoolean();
        private final Thread thread = new Thread(this::run, "gc-pressure");

        GcPressure() {
            thread.setDaemon(true);
            thread.start();
        }

        private void run() {
            while (!stop.get()) {
                System.gc();
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join();
        }
    }
}
