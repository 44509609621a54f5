package dev.tessera.pool.internal;

import ai.djl.ndarray.NDManager;
import dev.tessera.pool.PoolException;
import dev.tessera.pool.TaskFailedException;
import dev.tessera.pool.WorkerCrashedException;
import dev.tessera.pool.internal.protocol.LaunchSettings;
import dev.tessera.pool.internal.protocol.MessageChannel;
import dev.tessera.pool.internal.protocol.MessageTypes;
import dev.tessera.pool.internal.protocol.ResultFlyweight;
import dev.tessera.pool.internal.protocol.TaskFailedFlyweight;
import dev.tessera.pool.internal.protocol.TaskFlyweight;
import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A slot whose worker is a separate JVM. The driver thread sends one chunk at a time over the
 * worker's own Unix domain socket and blocks reading the reply, so a dead worker shows up at once as
 * end-of-stream on that read: the chunk fails with {@link WorkerCrashedException}, whose message says why
 * the worker died ({@link CrashReport}: exit code, signal, the last lines of its stderr, its {@code hs_err}
 * file), and the driver starts a replacement before taking the next chunk.
 *
 * <p>A worker that dies while idle harms no task: a watcher on the process's exit replaces it at once if
 * no chunk runs on the slot, and if a chunk was handed to the slot first, sending it fails before the
 * worker could read it (a worker runs a task only after reading all of it), so the chunk goes to a
 * replacement instead of failing. A task that cannot be encoded here, decoded in the worker, or whose
 * result cannot be decoded here (also by an {@code Error} such as a {@link StackOverflowError}) fails
 * alone; the worker and the channel stay as they were.
 *
 * <p>Start-up: the slot makes a private directory, listens on a socket file in it, launches the JVM,
 * accepts its connection, checks the pool's random token, removes the file and the directory (so a
 * parent killed later leaves nothing behind), and sends {@link WorkerInit}. The worker's stdin stays an
 * open pipe that is never written: when this JVM dies, the worker reads EOF and exits, so workers never
 * outlive their parent. All of the worker's state changes under the slot's worker lock.
 */
final class ProcessSlot extends WorkerSlot {
    private static final Logger LOG = LoggerFactory.getLogger(ProcessSlot.class);

    private final ProcessConfig config;
    private final String token;
    private final TensorAwareCodec codec;
    private volatile Process process;
    private StderrTail stderr;
    private SocketChannel channel;
    private OutputStream stdin;
    private MessageChannel messages;
    private FunctionIds functionIds;
    /** Whether this slot ever sent tensors as stubs, so a worker may have died holding shared segments. */
    private boolean sentStubs;

    public ProcessSlot(PoolCore core, int index, ProcessConfig config, WorkerScope parentScope, String token) {
        super(core, index, parentScope);
        this.config = config;
        this.token = token;
        this.codec = config.newCodec();
    }

    @Override
    protected void startWorker() throws IOException, InterruptedException {
        nextScope();
        Path dir = config.newSocketDir();
        Path socket = dir.resolve("w" + index + ".sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            Process p = launch(socket);
            // Unblock accept() if the JVM dies before it connects, or takes too long to start.
            p.onExit().thenRun(() -> closeQuietly(server));
            CompletableFuture.delayedExecutor(config.startTimeoutMillis(), TimeUnit.MILLISECONDS)
                    .execute(() -> closeQuietly(server));
            channel = accept(server);
        } finally {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
        messages = new MessageChannel(channel);
        functionIds = new FunctionIds(config.functionCacheCapacity());
        handshake();
        watch(process);
    }

    private Process launch(Path socket) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(config.command(scope, socket))
                .redirectOutput(ProcessBuilder.Redirect.INHERIT);
        pb.environment().putAll(config.env());
        pb.environment().put(LaunchSettings.TOKEN_ENV, token);
        Process p = pb.start();
        process = p;
        stdin = p.getOutputStream();
        stderr = StderrTail.start(p.getErrorStream(), scope.name());
        return p;
    }

    private SocketChannel accept(ServerSocketChannel server) throws IOException, InterruptedException {
        try {
            return server.accept();
        } catch (IOException e) {
            throw startFailure("it exited or did not connect within " + config.startTimeoutMillis() + " ms", e);
        }
    }

    private void handshake() throws IOException, InterruptedException {
        WorkerSetup setup = core.setup();
        try {
            WorkerHandshake.run(messages, token,
                    new WorkerInit(scope, setup.initializer(), setup.initArgs(), setup.context(index)), codec);
        } catch (IOException e) {
            throw startFailure("its channel broke during the handshake", e);
        }
    }

    private PoolException startFailure(String why, Exception e) throws InterruptedException {
        Integer code = exitCode(2_000);
        destroy();
        return new PoolException("worker JVM " + scope.name() + " failed to start: " + why
                + (code == null ? "" : " (exit code " + code + ")") + "; see its stderr above", e);
    }

    /** Replaces the worker when it dies while no chunk runs on it (a running chunk's driver sees EOF itself). */
    private void watch(Process p) {
        p.onExit().thenRun(() -> {
            if (process == p && !core.isTerminated()) {
                Thread.ofPlatform().daemon().name(scope.name() + "-respawn").start(() -> runIfIdle(() -> respawn(p)));
            }
        });
    }

    private void respawn(Process dead) {
        if (process != dead || core.isTerminated()) {
            return; // replaced, stopped or being stopped meanwhile
        }
        Integer code = dead.exitValue();
        LOG.warn("idle worker {} {}; starting a replacement", workerName(), crashReason(code)); // process == dead
        destroy();
        restart(null);
    }

    @Override
    protected void execute(Chunk c) {
        if (messages == null && !restart(c)) {
            return;
        }
        String allow = codec.allowList().allowancesFor(c.taskKey, c.args);
        TensorAwareCodec.Encoded args = encode(c, c.args, "arguments");
        if (args == null) {
            return;
        }
        sentStubs |= config.tensors().mayShare() && TensorAwareCodec.carriesTensors(args.bytes());
        MessageChannel.Frame reply = exchange(c, allow, args.bytes());
        if (reply != null) {
            complete(c, reply, allow, args.manager());
        }
    }

    /** Encodes part of a chunk; on any failure (also an {@code Error}) fails the chunk and returns null. */
    private TensorAwareCodec.Encoded encode(Chunk c, Object graph, String what) {
        try {
            return codec.encodeTracking(graph);
        } catch (Throwable t) {
            c.fail(new TaskFailedException(c.describe() + " cannot be sent to worker " + workerName() + ": its "
                    + what + " cannot be encoded: " + t, t));
            return null;
        }
    }

    /**
     * Sends the chunk and reads the reply; null when the chunk failed. A send that fails means the worker
     * died before it read the task, so the task goes once to a replacement; a read that fails is a crash. A
     * worker that answers it does not hold the task's function gets the function once more.
     */
    private MessageChannel.Frame exchange(Chunk c, String allow, byte[] args) {
        boolean replaced = false;
        boolean resent = false;
        while (true) {
            FunctionIds.Assignment fn = functionIds.assign(c.taskKey);
            byte[] function = fn.send() ? encodeFunction(c) : null;
            if (fn.send() && function == null) {
                return null;
            }
            try {
                TaskFlyweight.send(messages, c.id, fn.id(), functionIds.pendingEvictions(), allow, function, args);
                functionIds.evictionsSent();
            } catch (IllegalArgumentException e) {
                forgetSent(c, fn);
                c.fail(new TaskFailedException(c.describe() + " cannot be sent to worker " + workerName() + ": "
                        + e.getMessage(), e));
                return null;
            } catch (IOException e) {
                if (replaced || core.isTerminated()) {
                    crashed(c, e);
                    return null;
                }
                replaced = true;
                if (!replaceDeadWorker(c, e)) {
                    return null;
                }
                continue;
            }
            MessageChannel.Frame reply = receive(c, fn);
            if (reply == null || resent || failureReason(reply) != TaskFailedFlyweight.UNKNOWN_FUNCTION) {
                return reply;
            }
            resent = true; // the worker lacks the function the parent thinks it holds: send it along this time
        }
    }

    private byte[] encodeFunction(Chunk c) {
        TensorAwareCodec.Encoded fn = encode(c, c.task, "function");
        if (fn == null) {
            functionIds.forget(c.taskKey);
            return null;
        }
        return fn.bytes();
    }

    /** Forgets a function assigned for a task that never reached the worker. */
    private void forgetSent(Chunk c, FunctionIds.Assignment fn) {
        if (fn.send()) {
            functionIds.forget(c.taskKey);
        }
    }

    private MessageChannel.Frame receive(Chunk c, FunctionIds.Assignment fn) {
        try {
            MessageChannel.Frame reply = messages.receive();
            int reason = failureReason(reply);
            if (reason == TaskFailedFlyweight.UNKNOWN_FUNCTION
                    || (reason == TaskFailedFlyweight.FUNCTION_UNDECODABLE && fn.send())) {
                functionIds.forget(c.taskKey); // the worker does not hold it: sent again next time
            }
            return reply;
        } catch (IOException e) {
            crashed(c, e);
            return null;
        }
    }

    /** The reason of a TASK_FAILED reply, or -1 for any other reply. */
    private static int failureReason(MessageChannel.Frame reply) {
        if (reply.type() != MessageTypes.TASK_FAILED) {
            return -1;
        }
        try {
            return new TaskFailedFlyweight().wrap(reply.body()).reason();
        } catch (IOException e) {
            return -1; // complete() reports the corrupt reply
        }
    }

    /** The worker was dead when the chunk was sent, so it never ran: starts a replacement (or fails c) to run it. */
    private boolean replaceDeadWorker(Chunk c, IOException e) {
        LOG.warn("worker {} was dead before it received {} ({}); starting a replacement to run it", workerName(),
                c.describe(), e.getMessage());
        destroy();
        return restart(c);
    }

    /**
     * Decodes the reply. NDArrays in the result attach to {@code argumentManager} (the manager of the
     * first NDArray among the chunk's arguments), as DJL attaches an operation's result to its input's
     * manager; without one, or once it is closed, they attach to this slot's codec manager, which the
     * pool closes when it shuts down.
     */
    private void complete(Chunk c, MessageChannel.Frame reply, String allow, NDManager argumentManager) {
        try {
            if (reply.type() == MessageTypes.TASK_FAILED) {
                failed(c, new TaskFailedFlyweight().wrap(reply.body()), allow);
            } else if (reply.type() == MessageTypes.RESULT) {
                succeeded(c, new ResultFlyweight().wrap(reply.body()), allow, argumentManager);
            } else {
                throw new IOException("protocol error: expected the reply to chunk " + c.id + ", got "
                        + MessageTypes.name(reply.type()));
            }
        } catch (IOException e) {
            crashed(c, e);
        }
    }

    private void failed(Chunk c, TaskFailedFlyweight reply, String allow) throws IOException {
        checkCorrelation(c, reply.correlationId());
        Throwable cause = WorkerHandshake.decodeThrowable(codec, reply.body(), reply.payloadOffset(),
                reply.payloadLength(), allow);
        c.fail(new TaskFailedException(c.describe() + " failed in worker " + workerName() + ": "
                + cause.getMessage(), cause));
    }

    private void succeeded(Chunk c, ResultFlyweight reply, String allow, NDManager argumentManager)
            throws IOException {
        checkCorrelation(c, reply.correlationId());
        ChunkResult result;
        try {
            NDManager into = argumentManager != null && argumentManager.isOpen() ? argumentManager : null;
            result = (ChunkResult) codec.decode(reply.body(), reply.payloadOffset(), reply.payloadLength(), into, allow);
        } catch (Throwable t) {
            c.fail(new TaskFailedException("result of " + c.describe() + " from worker " + workerName()
                    + " cannot be decoded in the parent: " + t.getMessage(), t));
            return;
        }
        c.complete(result);
    }

    private static void checkCorrelation(Chunk c, long correlationId) throws IOException {
        if (correlationId != c.id) {
            throw new IOException("protocol error: expected the reply to chunk " + c.id + ", got one to " + correlationId);
        }
    }

    private void crashed(Chunk c, IOException cause) {
        Integer code;
        try {
            code = exitCode(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            code = null;
        }
        String name = workerName();
        String reason = crashReason(code);
        destroy();
        c.fail(new WorkerCrashedException(name, code, reason, c.describe(), cause.getMessage()));
        if (!core.isTerminated()) {
            LOG.warn("worker {} {} while running {}; starting a replacement", name, reason, c.describe());
            restart(null);
        }
    }

    private String crashReason(Integer code) {
        Process p = process;
        List<String> lastWords = stderr == null ? List.of() : stderr.lastLines(code == null ? 0 : 1_000);
        return CrashReport.reason(code, lastWords, config.errorFile(p == null ? -1 : p.pid()));
    }

    /** Starts a replacement; on failure fails {@code c} (if any) and leaves the slot without a worker. */
    private boolean restart(Chunk c) {
        if (core.isTerminated()) {
            return false;
        }
        try {
            startWorker();
            return true;
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            destroy();
            PoolException failure = e instanceof PoolException pe ? pe
                    : new PoolException("could not start a replacement worker in slot " + index + ": " + e, e);
            LOG.warn("{}", failure.getMessage());
            if (c != null) {
                c.fail(failure);
            }
            return false;
        }
    }

    private Integer exitCode(long waitMillis) throws InterruptedException {
        Process p = process;
        if (p == null) {
            return null;
        }
        return p.waitFor(waitMillis, TimeUnit.MILLISECONDS) ? p.exitValue() : null;
    }

    @Override
    protected boolean recycle() {
        stopWorker();
        restart(null);
        return true;
    }

    @Override
    protected void stopWorker() {
        Process p = process;
        if (messages != null) {
            try {
                messages.send(MessageTypes.STOP);
            } catch (IOException e) {
                // already gone
            }
        }
        try {
            if (p != null && !p.waitFor(5, TimeUnit.SECONDS)) {
                LOG.warn("worker {} did not stop within 5 s; killing it", workerName());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        destroy();
    }

    /** Kills the worker (if alive), waits for it to be reaped, and drops the channel and the process. */
    private void destroy() {
        Process p = process;
        process = null; // first, so its exit watcher knows the exit was expected
        closeQuietly(channel);
        closeQuietly(stdin);
        channel = null;
        messages = null;
        stdin = null;
        if (p != null) {
            p.destroyForcibly();
            try {
                if (p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() != 0 && sentStubs) {
                    DeadWorkerSegments.reclaim();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    protected boolean supportsCallerRuns() {
        return true;
    }

    @Override
    protected void released() {
        codec.close(); // releases result NDArrays of tasks that had no NDArray argument (this codec's manager)
    }

    @Override
    protected void kill() {
        Process p = process;
        if (p != null) {
            p.destroyForcibly();
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception e) {
                // closing is best effort
            }
        }
    }
}
