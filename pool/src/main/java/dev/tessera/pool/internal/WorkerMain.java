package dev.tessera.pool.internal;

import ai.djl.ndarray.NDManager;
import dev.tessera.pool.RemoteException;
import dev.tessera.pool.internal.protocol.HelloFlyweight;
import dev.tessera.pool.internal.protocol.InitFailedFlyweight;
import dev.tessera.pool.internal.protocol.InitFlyweight;
import dev.tessera.pool.internal.protocol.LaunchSettings;
import dev.tessera.pool.internal.protocol.MessageChannel;
import dev.tessera.pool.internal.protocol.MessageTypes;
import dev.tessera.pool.internal.protocol.ResultFlyweight;
import dev.tessera.pool.internal.protocol.TaskFailedFlyweight;
import dev.tessera.pool.internal.protocol.TaskFlyweight;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.NotSerializableException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Entry point of a worker JVM: connects to the parent's socket, runs the initializer, then serves
 * TASK messages ({@link dev.tessera.pool.internal.protocol}) one at a time until STOP or end-of-stream.
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
    private final MessageChannel channel;
    private final TensorAwareCodec codec;
    /** The functions the parent told this worker to keep, by the parent's ids ({@link FunctionIds}). */
    private final Map<Integer, Task> functions = new HashMap<>();
    private final TaskFlyweight task = new TaskFlyweight();
    private Object context;

    private WorkerMain(MessageChannel channel, TensorAwareCodec codec) {
        this.channel = channel;
        this.codec = codec;
    }

    public static void main(String[] args) throws Exception {
        Path socket = Path.of(args[0]);
        watchParent(socket);
        LaunchSettings settings = LaunchSettings.ofThisJvm();
        TensorAwareCodec codec = Codecs.create(settings.allowPatterns(), settings.tensors());
        SocketChannel socketChannel = SocketChannel.open(StandardProtocolFamily.UNIX);
        socketChannel.connect(UnixDomainSocketAddress.of(socket));
        MessageChannel channel = new MessageChannel(socketChannel);
        HelloFlyweight.send(channel, System.getenv(LaunchSettings.TOKEN_ENV));
        int status = new WorkerMain(channel, codec).serve();
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
        if (!init(channel.receive())) {
            return 1;
        }
        while (true) {
            MessageChannel.Frame f;
            try {
                f = channel.receive();
            } catch (EOFException e) {
                return 0; // the parent closed the channel
            }
            if (f.type() == MessageTypes.STOP) {
                return 0;
            }
            if (f.type() != MessageTypes.TASK) {
                throw new IOException("protocol error: unexpected message " + MessageTypes.name(f.type()));
            }
            serveTask(task.wrap(f.body()));
        }
    }

    private boolean init(MessageChannel.Frame f) throws IOException {
        String allow = "";
        try {
            if (f.type() != MessageTypes.INIT) {
                throw new IOException("protocol error: expected INIT, got " + MessageTypes.name(f.type()));
            }
            InitFlyweight m = new InitFlyweight().wrap(f.body());
            allow = m.allowances();
            WorkerInit init = (WorkerInit) codec.decode(m.body(), m.payloadOffset(), m.payloadLength(), null, allow);
            WorkerScope.bindProcess(init.scope());
            context = init.context();
            new WorkerSetup(init.initializer(), init.initArgs(), null, 0).runInitializer();
            channel.send(MessageTypes.READY);
            return true;
        } catch (Throwable t) {
            ChunkResult.rethrowIfFatal(t);
            Throwable cause = t.getCause() != null ? t.getCause() : t;
            InitFailedFlyweight.send(channel, encodeThrowable(cause, allow));
            return false;
        }
    }

    /** Runs one TASK and answers RESULT, or TASK_FAILED when its function or arguments cannot be decoded. */
    private void serveTask(TaskFlyweight t) throws IOException {
        String allow = t.allowances();
        for (int id : t.evictedFunctionIds()) {
            functions.remove(id);
        }
        Task fn;
        try {
            fn = function(t, allow);
        } catch (UnknownFunction e) {
            TaskFailedFlyweight.send(channel, t.correlationId(), TaskFailedFlyweight.UNKNOWN_FUNCTION,
                    encodeThrowable(e, allow));
            return;
        } catch (Throwable e) {
            ChunkResult.rethrowIfFatal(e);
            TaskFailedFlyweight.send(channel, t.correlationId(), TaskFailedFlyweight.FUNCTION_UNDECODABLE,
                    encodeThrowable(new IOException("the worker could not decode the task function: " + e.getMessage(), e), allow));
            return;
        }
        // tensors of the arguments live in a per-task manager, released once the result is encoded and
        // before it is sent, so the parent never sees their segments once it has the result
        NDManager taskManager = TensorAwareCodec.carriesTensors(t.body(), t.argumentsOffset(), t.argumentsLength())
                ? codec.root().newSubManager() : null;
        byte[] result;
        try {
            result = run(fn, t, allow, taskManager);
        } finally {
            if (taskManager != null) {
                taskManager.close();
            }
        }
        if (result != null) {
            ResultFlyweight.send(channel, t.correlationId(), result);
        }
    }

    /** The encoded result, or null when the arguments could not be decoded (then TASK_FAILED was sent). */
    private byte[] run(Task fn, TaskFlyweight t, String allow, NDManager taskManager) throws IOException {
        long id = t.correlationId();
        Object[] args;
        try {
            // a null manager: the codec's root manager
            args = (Object[]) codec.decode(t.body(), t.argumentsOffset(), t.argumentsLength(), taskManager, allow);
        } catch (Throwable e) {
            ChunkResult.rethrowIfFatal(e);
            TaskFailedFlyweight.send(channel, id, TaskFailedFlyweight.ARGUMENTS_UNDECODABLE, encodeThrowable(
                    new IOException("the worker could not decode the arguments: " + e.getMessage(), e), allow));
            return null;
        }
        return encodeResult(ChunkResult.run(fn, context, args), allow);
    }

    /** The task's function: decoded (and kept under its id unless uncached), or the one kept earlier. */
    private Task function(TaskFlyweight t, String allow) throws IOException, UnknownFunction {
        int id = t.functionId();
        if (!t.carriesFunction()) {
            Task kept = functions.get(id);
            if (kept == null) {
                throw new UnknownFunction(id);
            }
            return kept;
        }
        Task fn = (Task) codec.decode(t.body(), t.functionOffset(), t.functionLength(), null, allow);
        if (id != TaskFlyweight.UNCACHED) {
            functions.put(id, fn);
        }
        return fn;
    }

    /** The parent named a function id this worker does not hold; it sends the function again. */
    private static final class UnknownFunction extends Exception {
        private static final long serialVersionUID = 1L;

        UnknownFunction(int id) {
            super("this worker holds no function with id " + id);
        }
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
