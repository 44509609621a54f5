package dev.tessera.pool.internal;

import dev.tessera.pool.RemoteException;
import java.io.IOException;
import java.io.InputStream;
import java.io.NotSerializableException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Entry point of a worker JVM: connects to the parent's socket, runs the initializer, then serves
 * TASK frames one at a time until STOP or end-of-stream.
 *
 * <p>The worker must never outlive its parent: a daemon thread blocks reading stdin (a pipe only the
 * parent holds) and halts the JVM at EOF, and {@code ProcessHandle.parent().onExit()} does the same as
 * a second line of defence. Results that cannot be encoded become a per-item error, never a dead worker.
 */
public final class WorkerMain {
    static final String TOKEN_ENV = "TESSERA_POOL_TOKEN";

    private final Wire wire;
    private final TensorAwareCodec codec;
    private final FunctionCache<Integer, Task> functions = new FunctionCache<>();
    private Object context;

    private WorkerMain(Wire wire, TensorAwareCodec codec) {
        this.wire = wire;
        this.codec = codec;
    }

    public static void main(String[] args) throws Exception {
        watchParent();
        String allow = System.getProperty("tessera.pool.allow", "");
        List<String> patterns = allow.isEmpty() ? List.of() : Arrays.asList(allow.split(","));
        TensorAwareCodec codec = Codecs.create(patterns, Boolean.getBoolean("tessera.pool.copyTensors"));
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(args[0]));
        Wire wire = new Wire(channel);
        wire.send(Wire.HELLO, 0, 0, System.getenv(TOKEN_ENV).getBytes(StandardCharsets.UTF_8), null);
        int status = new WorkerMain(wire, codec).serve();
        codec.close();
        System.exit(status);
    }

    private static void watchParent() {
        Thread stdinWatch = new Thread(() -> {
            try (InputStream in = System.in) {
                byte[] sink = new byte[64];
                while (in.read(sink) >= 0) {
                    // the parent never writes; we only wait for EOF
                }
            } catch (IOException e) {
                // treated like EOF
            }
            Runtime.getRuntime().halt(0);
        }, "tessera-parent-watch");
        stdinWatch.setDaemon(true);
        stdinWatch.start();
        ProcessHandle.current().parent().ifPresent(p -> p.onExit().thenRun(() -> Runtime.getRuntime().halt(0)));
    }

    private int serve() throws IOException {
        if (!init(wire.receive())) {
            return 1;
        }
        while (true) {
            Wire.Frame f;
            try {
                f = wire.receive();
            } catch (java.io.EOFException e) {
                return 0; // the parent closed the channel
            }
            if (f.type() == Wire.STOP) {
                return 0;
            }
            if (f.type() != Wire.TASK) {
                throw new IOException("protocol error: unexpected frame type " + f.type());
            }
            wire.send(Wire.RESULT, f.id(), 0, runTask(f), null);
        }
    }

    private boolean init(Wire.Frame f) throws IOException {
        try {
            WorkerInit init = (WorkerInit) codec.decode(f.a());
            WorkerScope.bindProcess(init.scope());
            context = init.context();
            new WorkerSetup(init.initializer(), init.initArgs(), null, 0).runInitializer();
            wire.send(Wire.READY, 0, 0, null, null);
            return true;
        } catch (Exception e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            wire.send(Wire.INIT_FAILED, 0, 0, encodeThrowable(cause), null);
            return false;
        }
    }

    private byte[] runTask(Wire.Frame f) throws IOException {
        Object[] args;
        Task task;
        try {
            task = f.a().length > 0 ? (Task) codec.decode(f.a()) : functions.get(f.aux());
            if (f.a().length > 0 && f.aux() >= 0) {
                functions.put(f.aux(), task);
            }
        } catch (IOException | RuntimeException e) {
            Throwable[] errors = {new IOException("the worker could not decode the task: " + e, e)};
            return encodeResult(new ChunkResult(new Object[1], errors), 1);
        }
        if (task == null) {
            throw new IOException("protocol error: unknown function id " + f.aux());
        }
        // tensors of the arguments live in a per-task manager, released once the result is encoded
        boolean tensors = TensorAwareCodec.carriesTensors(f.b());
        ai.djl.ndarray.NDManager taskManager = tensors ? codec.root().newSubManager() : null;
        try {
            try {
                args = (Object[]) codec.decode(f.b(), taskManager); // null: the codec's root manager
            } catch (IOException | RuntimeException e) {
                Throwable[] errors = {new IOException("the worker could not decode the arguments: " + e, e)};
                return encodeResult(new ChunkResult(new Object[1], errors), 1);
            }
            return encodeResult(ChunkResult.run(task, context, args), args.length);
        } finally {
            if (taskManager != null) {
                taskManager.close();
            }
        }
    }

    /** Encodes the result; values or errors that cannot be encoded are replaced item by item. */
    private byte[] encodeResult(ChunkResult r, int n) throws IOException {
        try {
            return codec.encode(r);
        } catch (IOException | RuntimeException whole) {
            Object[] values = r.values().clone();
            Throwable[] errors = r.errors().clone();
            for (int i = 0; i < n; i++) {
                if (errors[i] != null && !encodable(errors[i])) {
                    errors[i] = RemoteException.of(errors[i]);
                } else if (errors[i] == null && !encodable(values[i])) {
                    String type = values[i].getClass().getName();
                    errors[i] = new NotSerializableException("the result (a " + type + ") cannot be sent back to the "
                            + "parent; return a Serializable value or a tensor instead");
                    values[i] = null;
                }
            }
            return codec.encode(new ChunkResult(values, errors));
        }
    }

    private boolean encodable(Object o) {
        try {
            codec.encode(o);
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private byte[] encodeThrowable(Throwable t) throws IOException {
        try {
            return codec.encode(t);
        } catch (IOException | RuntimeException e) {
            return codec.encode(RemoteException.of(t));
        }
    }
}
