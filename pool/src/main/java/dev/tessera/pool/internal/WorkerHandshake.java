package dev.tessera.pool.internal;

import dev.tessera.pool.PoolException;
import dev.tessera.pool.internal.protocol.HelloFlyweight;
import dev.tessera.pool.internal.protocol.InitFlyweight;
import dev.tessera.pool.internal.protocol.MessageChannel;
import dev.tessera.pool.internal.protocol.MessageTypes;
import java.io.IOException;

/**
 * The parent's half of a worker JVM's start-up conversation: the worker's HELLO must carry the pool's
 * token, then INIT goes out and READY (or INIT_FAILED with the initializer's error) comes back. Stateless.
 */
final class WorkerHandshake {
    private WorkerHandshake() {}

    /**
     * Runs the handshake on a freshly accepted channel.
     *
     * @throws PoolException when the worker's initializer failed (its cause is the initializer's error)
     * @throws IOException when the peer is not our worker or the channel broke
     */
    static void run(MessageChannel messages, String token, WorkerInit init, TensorAwareCodec codec)
            throws IOException {
        MessageChannel.Frame hello = messages.receive();
        if (hello.type() != MessageTypes.HELLO || !token.equals(new HelloFlyweight().wrap(hello.body()).token())) {
            throw new IOException("unexpected peer on the worker socket (bad hello)");
        }
        String allow = codec.allowList().allowancesFor(init.initializer(), new Object[] {init.initArgs(), init.context()});
        InitFlyweight.send(messages, allow, codec.encode(init));
        MessageChannel.Frame reply = messages.receive();
        if (reply.type() == MessageTypes.INIT_FAILED) {
            Throwable cause = decodeThrowable(codec, reply.body(), 0, reply.body().length, allow);
            throw new PoolException("initializer failed in worker " + init.scope().name() + ": " + cause, cause);
        }
        if (reply.type() != MessageTypes.READY) {
            throw new IOException("protocol error: expected READY, got " + MessageTypes.name(reply.type()));
        }
    }

    /** Decodes an error the worker sent; one that cannot be decoded becomes a {@link PoolException} saying so. */
    static Throwable decodeThrowable(TensorAwareCodec codec, byte[] bytes, int offset, int length, String allow) {
        try {
            return (Throwable) codec.decode(bytes, offset, length, null, allow);
        } catch (Throwable t) {
            ChunkResult.rethrowIfFatal(t);
            return new PoolException("undecodable error from worker: " + t);
        }
    }
}
