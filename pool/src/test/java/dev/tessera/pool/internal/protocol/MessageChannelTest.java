package dev.tessera.pool.internal.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each message survives the socket with every field in place, and a body whose lengths lie is refused. */
class MessageChannelTest {
    @TempDir
    Path dir;

    private SocketChannel parentSide;
    private SocketChannel workerSide;
    private MessageChannel parent;
    private MessageChannel worker;

    @BeforeEach
    void connect() throws IOException {
        Path socket = dir.resolve("t.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            workerSide = SocketChannel.open(StandardProtocolFamily.UNIX);
            workerSide.connect(UnixDomainSocketAddress.of(socket));
            parentSide = server.accept();
        }
        parent = new MessageChannel(parentSide);
        worker = new MessageChannel(workerSide);
    }

    @AfterEach
    void close() throws IOException {
        parentSide.close();
        workerSide.close();
    }

    @Test
    void taskCarriesEvictionsAllowancesFunctionAndArguments() throws IOException {
        byte[] fn = {1, 2, 3};
        byte[] args = {9, 8, 7, 6};
        TaskFlyweight.send(parent, 42L, 5, new int[] {3, 4}, "com.example.**", fn, args);
        MessageChannel.Frame f = worker.receive();
        assertEquals(MessageTypes.TASK, f.type());
        TaskFlyweight t = new TaskFlyweight().wrap(f.body());
        assertEquals(42L, t.correlationId());
        assertEquals(5, t.functionId());
        assertArrayEquals(new int[] {3, 4}, t.evictedFunctionIds());
        assertEquals("com.example.**", t.allowances());
        assertTrue(t.carriesFunction());
        assertArrayEquals(fn, Arrays.copyOfRange(t.body(), t.functionOffset(), t.functionOffset() + t.functionLength()));
        assertArrayEquals(args, Arrays.copyOfRange(t.body(), t.argumentsOffset(), t.body().length));

        TaskFlyweight.send(parent, 43L, 5, new int[0], "", null, args);
        TaskFlyweight kept = new TaskFlyweight().wrap(worker.receive().body());
        assertFalse(kept.carriesFunction(), "the worker holds function 5");
        assertEquals("", kept.allowances());
        assertEquals(4, kept.argumentsLength());
    }

    @Test
    void repliesAndHandshakeRoundTrip() throws IOException {
        HelloFlyweight.send(worker, "token-1");
        assertEquals("token-1", new HelloFlyweight().wrap(parent.receive().body()).token());
        InitFlyweight.send(parent, "a.**;b.**", new byte[] {5});
        InitFlyweight init = new InitFlyweight().wrap(worker.receive().body());
        assertEquals("a.**;b.**", init.allowances());
        assertEquals(List.of((byte) 5), List.of(init.body()[init.payloadOffset()]));
        worker.send(MessageTypes.READY);
        assertEquals(MessageTypes.READY, parent.receive().type());
        ResultFlyweight.send(worker, 7L, new byte[] {1, 1});
        ResultFlyweight r = new ResultFlyweight().wrap(parent.receive().body());
        assertEquals(7L, r.correlationId());
        assertEquals(2, r.payloadLength());
        TaskFailedFlyweight.send(worker, 8L, TaskFailedFlyweight.UNKNOWN_FUNCTION, new byte[] {4});
        TaskFailedFlyweight failed = new TaskFailedFlyweight().wrap(parent.receive().body());
        assertEquals(8L, failed.correlationId());
        assertEquals(TaskFailedFlyweight.UNKNOWN_FUNCTION, failed.reason());
        workerSide.close();
        assertThrows(EOFException.class, parent::receive);
    }

    @Test
    void refusesABodyWhoseLengthsDoNotFit() {
        ByteBuffer body = ByteBuffer.allocate(24).putLong(1).putInt(0).putInt(0).putInt(100).putInt(0);
        IOException e = assertThrows(IOException.class, () -> new TaskFlyweight().wrap(body.array()));
        assertEquals("corrupt TASK: evictCount=0 allowLength=100 functionLength=0 in a body of 24 bytes", e.getMessage());
        assertThrows(IOException.class, () -> new ResultFlyweight().wrap(new byte[3]));
        assertThrows(IOException.class, () -> new InitFlyweight().wrap(ByteBuffer.allocate(4).putInt(0, 9).array()));
    }

    @Test
    void namesEveryTypeCode() {
        assertEquals("TASK_FAILED", MessageTypes.name(MessageTypes.TASK_FAILED));
        assertEquals("unknown type 99", MessageTypes.name((byte) 99));
    }
}
