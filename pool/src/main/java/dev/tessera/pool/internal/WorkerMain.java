package dev.tessera.pool.internal;

import dev.tessera.pool.RemoteException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.NotSerializableException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Entry point of a worker JVM: connects to the parent's socket, runs the initializer, then serves
 * TASK frames one at a time until STOP or end-of-stream.
 *
 * <p>The worker must never outlive its parent: a daemon thread blocks reading stdin (a pipe only the
 * parent holds) and halts the JVM at EOF, and {@code ProcessHandle.parent().onExit()} does the same as
 * a second line of defence; either first removes the socket file and its directory if the parent died
 * before it could. Nothing a task sends or returns kills the worker: a function or arguments that
 * cannot be decoded (a class off the allow-list, an {@code Error} thrown by {@code readObject}) fail
 * that task with TASK_FAILED, and results that cannot be encoded become a per-item error. Only a fatal
 * {@link VirtualMachineError} ends the JVM (out of memory exits through {@code -XX:+ExitOnOutOfMemoryError}).
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
        Path socket = Path.of(args[0]);
        watchParent(socket);
        String allow = System.getProperty("tessera.pool.allow", "");
        List<String> patterns = allow.isEmpty() ? List.of() : Arrays.asList(allow.split(","));
        TensorAwareCodec codec = Codecs.create(patterns, Boolean.getBoolean("tessera.pool.copyTensors"));
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
        Wire wire = new Wire(channel);
        wire.send(Wire.HELLO, 0, 0, System.getenv(TOKEN_ENV).getBytes(StandardCharsets.UTF_8), null);
        int status = new WorkerMain(wire, codec).serve();
        codec.close();
        System.exit(status);
    }

    private static void watchParent(Path socket) {
        Thread stdinWatch = new Thread(() -> {
            try (InputStream in = System.in) {
                byte[] sink = new byte[64];
                while (in.read(sink) >= 0) {
                    // the parent never writes; we only wait for EOF
                }
            } catch (IOException e) {
                // treated like EOF
            }
            parentDied(socket);
        }, "tessera-parent-watch");
        stdinWatch.setDaemon(true);
        stdinWatch.start();
        ProcessHandle.current().parent().ifPresent(p -> p.onExit().thenRun(() -> parentDied(socket)));
    }

    /** Removes what a parent killed during this worker's start left behind (normally gone already), then halts. */
    private static void parentDied(Path socket) {
        try {
            Files.deleteIfExists(socket);
            Path dir = socket.getParent();
            if (dir != null && dir.getFileName().toString().startsWith(ProcessConfig.SOCKET_DIR_PREFIX)) {
                Files.deleteIfExists(dir);
            }
        } catch (IOException | RuntimeException e) {
            // best effort: the JVM halts either way
        }
        Runtime.getRuntime().halt(0);
    }

    private int serve() throws IOException {
        if (!init(wire.receive())) {
            return 1;
        }
        while (true) {
            Wire.Frame f;
            try {
                f = wire.receive();
            } catch (EOFException e) {
                return 0; // the parent closed the channel
            }
            if (f.type() == Wire.STOP) {
                return 0;
            }
            if (f.type() != Wire.TASK) {
                throw new IOException("protocol error: unexpected frame type " + f.type());
            }
            serveTask(f);
        }
    }

    private boolean init(Wire.Frame f) throws IOException {
        try {
            WorkerInit init = (WorkerInit) codec.decode(f.a(), null, f.allow());
            WorkerScope.bindProcess(init.scope());
            context = init.context();
            new WorkerSetup(init.initializer(), init.initArgs(), null, 0).runInitializer();
            wire.send(Wire.READY, 0, 0, null, null);
            return true;
        } catch (Throwable t) {
            ChunkResult.rethrowIfFatal(t);
            Throwable cause = t.getCause() != null ? t.getCause() : t;
            wire.send(Wire.INIT_FAILED, 0, 0, encodeThrowable(cause, f.allow()), null);
            return false;
        }
    }

    /** Runs one TASK frame and answers RESULT, or TASK_FAILED when its function or arguments cannot be decoded. */
    private void serveTask(Wire.Frame f) throws IOException {
        Task task;
        try {
            task = function(f);
        } catch (Throwable t) {
            ChunkResult.rethrowIfFatal(t);
            failTask(f, Wire.FUNCTION_NOT_KEPT, new IOException("the worker could not decode the task function: "
                    + t.getMessage(), t));
            return;
        }
        // tensors of the arguments live in a per-task manager, released once the result is encoded and
        // before it is sent, so the parent never sees their segments once it has the result
        ai.djl.ndarray.NDManager taskManager = TensorAwareCodec.carriesTensors(f.b()) ? codec.root().newSubManager() : null;
        Reply reply;
        try {
            reply = run(task, f, taskManager);
        } finally {
            if (taskManager != null) {
                taskManager.close();
            }
        }
        wire.send(reply.type(), f.id(), 0, reply.bytes(), null);
    }

    /** An encoded answer to a TASK frame. */
    private record Reply(byte type, byte[] bytes) {}

    private Reply run(Task task, Wire.Frame f, ai.djl.ndarray.NDManager taskManager) throws IOException {
        Object[] args;
        try {
            args = (Object[]) codec.decode(f.b(), taskManager, f.allow()); // null: the codec's root manager
        } catch (Throwable t) {
            ChunkResult.rethrowIfFatal(t);
            return new Reply(Wire.TASK_FAILED, encodeThrowable(new IOException("the worker could not decode the "
                    + "arguments: " + t.getMessage(), t), f.allow()));
        }
        return new Reply(Wire.RESULT, encodeResult(ChunkResult.run(task, context, args), f.allow()));
    }

    /** The frame's function: decoded and kept under its id, or the one kept earlier. */
    private Task function(Wire.Frame f) throws IOException {
        if (f.a().length == 0) {
            Task kept = functions.get(f.aux());
            if (kept == null) {
                throw new IOException("this worker holds no function with id " + f.aux());
            }
            return kept;
        }
        Task task = (Task) codec.decode(f.a(), null, f.allow());
        if (f.aux() >= 0) {
            functions.put(f.aux(), task);
        }
        return task;
    }

    private void failTask(Wire.Frame f, int aux, Throwable error) throws IOException {
        wire.send(Wire.TASK_FAILED, f.id(), aux, encodeThrowable(error, f.allow()), null);
    }

    /** Encodes the result; values or errors that cannot be encoded are replaced item by item. */
    private byte[] encodeResult(ChunkResult r, String allow) throws IOException {
        Throwable[] errors = r.errors();
        for (int i = 0; i < errors.length; i++) {
            if (errors[i] != null && !decodableByParent(errors[i], allow)) {
                errors[i] = RemoteException.of(errors[i]);
            }
        }
        try {
            return codec.encode(r);
        } catch (Throwable whole) {
            ChunkResult.rethrowIfFatal(whole);
            return codec.encode(itemByItem(r));
        }
    }

    private ChunkResult itemByItem(ChunkResult r) {
        Object[] values = r.values().clone();
        Throwable[] errors = r.errors().clone();
        for (int i = 0; i < values.length; i++) {
            if (errors[i] != null && !encodable(errors[i])) {
                errors[i] = RemoteException.of(errors[i]);
            } else if (errors[i] == null && !encodable(values[i])) {
                String type = values[i].getClass().getName();
                errors[i] = new NotSerializableException("the result (a " + type + ") cannot be sent back to the "
                        + "parent; return a Serializable value or a tensor instead");
                values[i] = null;
            }
        }
        return new ChunkResult(values, errors);
    }

    private boolean encodable(Object o) {
        try {
            codec.encode(o);
            return true;
        } catch (Throwable t) {
            ChunkResult.rethrowIfFatal(t);
            return false;
        }
    }

    /**
     * Whether the parent can decode this error: it decodes with the same allow-list, so a task's exception of
     * a class it does not allow (a third-party library's) travels as a {@link RemoteException} instead of
     * failing the whole reply. Only failures pay for this check.
     */
    private boolean decodableByParent(Throwable error, String allow) {
        try {
            byte[] bytes = codec.encode(error);
            if (!TensorAwareCodec.carriesTensors(bytes)) {
                codec.decode(bytes, null, allow);
            }
            return true;
        } catch (Throwable t) {
            ChunkResult.rethrowIfFatal(t);
            return false;
        }
    }

    private byte[] encodeThrowable(Throwable t, String allow) throws IOException {
        return codec.encode(decodableByParent(t, allow) ? t : RemoteException.of(t));
    }
}
