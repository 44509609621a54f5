package dev.tessera.pool.internal;

import dev.tessera.pool.PoolException;
import dev.tessera.pool.TaskFailedException;
import dev.tessera.pool.WorkerCrashedException;
import dev.tessera.sharedmem.SegmentInfo;
import dev.tessera.sharedmem.SegmentReaper;
import dev.tessera.sharedmem.SharedSegment;
import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A slot whose worker is a separate JVM. The driver thread sends one chunk at a time over the
 * worker's own Unix domain socket and blocks reading the reply, so a dead worker shows up at once as
 * end-of-stream on that read: the chunk fails with {@link WorkerCrashedException} (exit code and signal
 * from {@link Process#waitFor}), and the driver starts a replacement before taking the next chunk.
 *
 * <p>Start-up: the slot listens on a fresh socket file in the pool's private directory, launches the
 * JVM, accepts its connection, checks the pool's random token, deletes the file, and sends
 * {@link WorkerInit}. The worker's stdin stays an open pipe that is never written: when this JVM dies,
 * the worker reads EOF and exits, so workers never outlive their parent.
 */
public final class ProcessSlot extends WorkerSlot {
    private static final Logger LOG = LoggerFactory.getLogger(ProcessSlot.class);

    private final ProcessConfig config;
    private final String token;
    private final TensorAwareCodec codec;
    private volatile Process process;
    private SocketChannel channel;
    private OutputStream stdin;
    private Wire wire;
    private FunctionCache<Object, Integer> sentFunctions;
    private int nextFunctionId;
    /** Whether this slot ever sent tensors as stubs, so a worker may have died holding shared segments. */
    private boolean sentStubs;

    public ProcessSlot(PoolCore core, int index, ProcessConfig config, WorkerScope parentScope, String token) {
        super(core, index, parentScope);
        this.config = config;
        this.token = token;
        this.codec = config.codec().get();
    }

    @Override
    protected void startWorker() throws IOException, InterruptedException {
        nextScope();
        Path socket = config.socketDir().resolve("w" + index + "-" + incarnation + ".sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            ProcessBuilder pb = new ProcessBuilder(config.command(scope, socket))
                    .redirectOutput(ProcessBuilder.Redirect.INHERIT)
                    .redirectError(ProcessBuilder.Redirect.INHERIT);
            pb.environment().putAll(config.env());
            pb.environment().put(WorkerMain.TOKEN_ENV, token);
            Process p = pb.start();
            process = p;
            stdin = p.getOutputStream();
            // Unblock accept() if the JVM dies before it connects, or takes too long to start.
            p.onExit().thenRun(() -> closeQuietly(server));
            CompletableFuture.delayedExecutor(config.startTimeoutMillis(), TimeUnit.MILLISECONDS)
                    .execute(() -> closeQuietly(server));
            try {
                channel = server.accept();
            } catch (IOException e) {
                throw startFailure("it exited or did not connect within " + config.startTimeoutMillis() + " ms", e);
            } finally {
                Files.deleteIfExists(socket);
            }
        }
        wire = new Wire(channel);
        sentFunctions = new FunctionCache<>();
        handshake();
    }

    private void handshake() throws IOException, InterruptedException {
        try {
            Wire.Frame hello = wire.receive();
            if (hello.type() != Wire.HELLO || !token.equals(new String(hello.a(), java.nio.charset.StandardCharsets.UTF_8))) {
                throw new IOException("unexpected peer on the worker socket (bad hello)");
            }
            Object initializer = core.setup().initializer();
            WorkerInit init = new WorkerInit(scope, (Task) initializer, core.setup().initArgs(), core.setup().context(index));
            wire.send(Wire.INIT, 0, 0, codec.encode(init), null);
            Wire.Frame reply = wire.receive();
            if (reply.type() == Wire.INIT_FAILED) {
                Throwable cause = decodeThrowable(reply.a());
                throw new PoolException("initializer failed in worker " + scope.name() + ": " + cause, cause);
            }
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

    private Throwable decodeThrowable(byte[] bytes) {
        try {
            return (Throwable) codec.decode(bytes);
        } catch (IOException | ClassCastException e) {
            return new PoolException("undecodable error from worker: " + e);
        }
    }

    @Override
    protected void execute(Chunk c) {
        if (wire == null && !restart(c)) {
            return;
        }
        byte[] fnBytes;
        TensorAwareCodec.Encoded args;
        int fnId;
        try {
            Integer known = c.taskKey == null ? null : sentFunctions.get(c.taskKey);
            fnId = known != null ? known : c.taskKey == null ? -1 : nextFunctionId++;
            fnBytes = known != null ? null : codec.encode(c.task);
            args = codec.encodeTracking(c.args);
            if (known == null && c.taskKey != null) {
                sentFunctions.put(c.taskKey, fnId);
            }
        } catch (IOException | RuntimeException e) {
            c.fail(new TaskFailedException(c.describe() + " cannot be sent to worker " + workerName()
                    + ": its function or arguments cannot be encoded: " + e, e));
            return;
        }
        try {
            sentStubs |= !config.copyTensors() && TensorAwareCodec.carriesTensors(args.bytes());
            wire.send(Wire.TASK, c.id, fnId, fnBytes, args.bytes());
            Wire.Frame reply = wire.receive();
            complete(c, reply, args.manager());
        } catch (IOException e) {
            crashed(c, e);
        }
    }

    /**
     * Decodes the reply. NDArrays in the result attach to {@code argumentManager} (the manager of the
     * first NDArray among the chunk's arguments), as DJL attaches an operation's result to its input's
     * manager; without one, or once it is closed, they attach to this slot's codec manager, which the
     * pool closes when it shuts down.
     */
    private void complete(Chunk c, Wire.Frame reply, ai.djl.ndarray.NDManager argumentManager) throws IOException {
        if (reply.type() != Wire.RESULT || reply.id() != c.id) {
            throw new IOException("protocol error: expected RESULT " + c.id + ", got type " + reply.type() + " id " + reply.id());
        }
        ChunkResult result;
        try {
            ai.djl.ndarray.NDManager into = argumentManager != null && argumentManager.isOpen() ? argumentManager : null;
            result = (ChunkResult) codec.decode(reply.a(), into);
        } catch (IOException | RuntimeException e) {
            c.fail(new TaskFailedException("result of " + c.describe() + " from worker " + workerName()
                    + " cannot be decoded in the parent: " + e, e));
            return;
        }
        c.complete(result);
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
        destroy();
        c.fail(new WorkerCrashedException(name, code, c.describe(), cause.getMessage()));
        if (!core.isTerminated()) {
            LOG.warn("worker {} died (exit code {}) while running {}; starting a replacement", name, code, c.describe());
            restart(null);
        }
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
        if (wire != null) {
            try {
                wire.send(Wire.STOP, 0, 0, null, null);
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

    /** Kills the worker (if alive), waits for it to be reaped, and drops the channel. */
    private void destroy() {
        Process p = process;
        closeQuietly(channel);
        closeQuietly(stdin);
        channel = null;
        wire = null;
        stdin = null;
        if (p != null) {
            p.destroyForcibly();
            try {
                if (p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() != 0 && sentStubs) {
                    reclaimSegmentsOfDeadWorkers();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Removes the shared segments this JVM created for stub messages that a worker took over and then died
     * holding (killed, crashed, or cancelled mid-task): their only reference belongs to a dead process, and
     * the reaper leaves them alone while their creator, this JVM, lives. A segment qualifies when this JVM
     * created it, holds no handle on it, and every process attached to it is dead; a segment still in
     * flight has no attached process and is left alone.
     */
    private static void reclaimSegmentsOfDeadWorkers() {
        long self = ProcessHandle.current().pid();
        try {
            for (SegmentInfo s : SegmentReaper.list(SharedSegment.defaultDirectory())) {
                if (s.published() && !s.persistent() && s.ownerPid() == self && s.ownerAlive()
                        && !s.attachedPids().isEmpty() && !s.anyAttachedAlive()) {
                    Files.deleteIfExists(s.path());
                    LOG.debug("removed segment {}, left by a dead worker", s.name());
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not remove the shared segments of a dead worker: {}", e.toString());
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
