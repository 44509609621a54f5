package dev.tessera.distributed.internal.collective;

import dev.tessera.distributed.MemberLostException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One TCP connection to every other rank of a collective group, with a reader thread and a writer thread each.
 * Thread-safe; it owns the sockets and threads until {@link #close()}.
 *
 * <p>Wire: frames of {@code [byte kind][int tag][int length][length bytes]}. Kind {@link #COLLECTIVE} frames go to a
 * FIFO queue per sender (collectives run in the same order on every rank, so the next frame from a peer is the one
 * the running collective expects; a message longer than {@link #FRAME_BYTES} is split into frames of that size);
 * kind {@link #P2P} frames (an {@link OpHeader} then the data) go to one inbox that receives match by sender and tag.
 * A connection that ends (a peer killed, or gone) wakes every wait on it with {@link MemberLostException}; every wait
 * also checks the World's view and its deadline.
 *
 * <p>Receiving copies each collective frame once: the reader reads it from the socket straight into a direct buffer of
 * {@link #FRAME_BYTES}, taken from its peer's pool, and a {@link FrameSink} reduces or copies from that buffer in
 * place, after which it goes back to the pool (which keeps up to {@link #POOL_FRAMES}). A reader ahead of its consumer
 * with the pool empty makes a new direct buffer (it never waits for the consumer, so it always sees its connection
 * end); the pool drops it once full. Sending writes the frame head and the data with one
 * gathering write, from a direct head buffer per peer.
 */
public final class Mesh implements AutoCloseable {
    static final byte COLLECTIVE = 0;
    static final byte P2P = 1;
    /** The largest frame of a collective message: small enough to reduce while the next one arrives. */
    static final int FRAME_BYTES = 1 << 20;
    /** Direct frame buffers kept per peer: enough to read ahead of a reduce of the frame before. */
    static final int POOL_FRAMES = 8;
    /** The end of a connection, queued after its last frame; compared by identity. */
    private static final ByteBuffer END = ByteBuffer.allocate(0);
    private static final int HELLO_MAGIC = 0x7e55c011;
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private final Peers peers;
    private final ServerSocketChannel server;
    private final SocketChannel[] channels;
    private final ExecutorService[] writers;
    private final Thread[] readers;
    private final List<LinkedBlockingQueue<ByteBuffer>> inboxes = new ArrayList<>();
    private final List<ArrayBlockingQueue<ByteBuffer>> pools = new ArrayList<>();
    /** Per peer, the frame head of its writer thread. */
    private final ByteBuffer[] sendHeads;
    private final java.util.concurrent.atomic.AtomicReferenceArray<String> ended;
    private final ReentrantLock p2pLock = new ReentrantLock();
    private final Condition p2pArrived = p2pLock.newCondition();
    private final List<P2pMessage> p2p = new ArrayList<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    /** A point-to-point message received whole. */
    public record P2pMessage(int from, int tag, OpHeader header, byte[] data) {}

    /** Opens the listening socket on {@code bind}; {@link #address()} is what the others connect to. */
    public Mesh(Peers peers, java.net.InetAddress bind) {
        this.peers = peers;
        int k = peers.size();
        this.channels = new SocketChannel[k];
        this.writers = new ExecutorService[k];
        this.readers = new Thread[k];
        this.sendHeads = new ByteBuffer[k];
        this.ended = new java.util.concurrent.atomic.AtomicReferenceArray<>(k);
        for (int i = 0; i < k; i++) {
            inboxes.add(new LinkedBlockingQueue<>());
            pools.add(new ArrayBlockingQueue<>(POOL_FRAMES));
        }
        try {
            server = ServerSocketChannel.open();
            server.bind(new InetSocketAddress(bind, 0), k);
        } catch (IOException e) {
            throw new UncheckedIOException("collective group '" + peers.group() + "': cannot listen on "
                    + bind.getHostAddress() + ": " + e.getMessage(), e);
        }
    }

    /** {@code host:port} of the listening socket. */
    public String address() {
        InetSocketAddress a = (InetSocketAddress) server.socket().getLocalSocketAddress();
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    /** Connects to every higher group index and accepts every lower one. */
    public void connect(String[] addresses, Deadline d) {
        int self = peers.self();
        try {
            for (int j = self + 1; j < peers.size(); j++) {
                int colon = addresses[j].lastIndexOf(':');
                SocketChannel ch = SocketChannel.open();
                ch.socket().connect(new InetSocketAddress(addresses[j].substring(0, colon),
                        Integer.parseInt(addresses[j].substring(colon + 1))), (int) Math.max(1,
                        TimeUnit.NANOSECONDS.toMillis(d.leftNanos())));
                ByteBuffer hello = ByteBuffer.allocate(12).order(ByteOrder.BIG_ENDIAN);
                hello.putInt(HELLO_MAGIC).putInt(peers.group().hashCode()).putInt(self).flip();
                writeFully(ch, hello);
                install(j, ch);
            }
            server.socket().setSoTimeout(100);
            for (int accepted = 0; accepted < self; ) {
                d.check();
                peers.checkAlive(d.what());
                SocketChannel ch;
                try {
                    ch = server.socket().accept().getChannel();
                } catch (SocketTimeoutException e) {
                    continue;
                }
                ch.socket().setSoTimeout((int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(d.leftNanos())));
                ByteBuffer hello = ByteBuffer.allocate(12);
                var in = ch.socket().getInputStream();
                in.readNBytes(hello.array(), 0, 12);
                int from = hello.getInt(8);
                if (hello.getInt(0) != HELLO_MAGIC || hello.getInt(4) != peers.group().hashCode() || from < 0
                        || from >= self || channels[from] != null) {
                    ch.close(); // not one of ours
                    continue;
                }
                ch.socket().setSoTimeout(0);
                install(from, ch);
                accepted++;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(d.what() + ": connecting the ranks failed: " + e.getMessage(), e);
        }
    }

    private void install(int peer, SocketChannel ch) throws IOException {
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        ch.configureBlocking(true);
        channels[peer] = ch;
        sendHeads[peer] = ByteBuffer.allocateDirect(9);
        writers[peer] = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon()
                .name("tessera-coll-w-" + peers.group() + "-" + peer).factory());
        readers[peer] = Thread.ofPlatform().daemon().name("tessera-coll-r-" + peers.group() + "-" + peer)
                .start(() -> readLoop(peer, ch));
    }

    private void readLoop(int peer, SocketChannel ch) {
        ByteBuffer head = ByteBuffer.allocateDirect(9);
        try {
            while (true) {
                head.clear();
                if (!readFully(ch, head)) {
                    break;
                }
                byte kind = head.get(0);
                int tag = head.getInt(1);
                int len = head.getInt(5);
                if (len < 0) {
                    throw new IOException("a frame of " + len + " bytes (the stream is corrupt)");
                }
                if (!(kind == COLLECTIVE ? readCollective(peer, ch, len) : readP2p(peer, ch, tag, len))) {
                    break;
                }
            }
            ended.compareAndSet(peer, null, "its connection closed");
        } catch (IOException | RuntimeException e) {
            ended.compareAndSet(peer, null, "its connection failed: " + e);
        }
        inboxes.get(peer).add(END); // wakes a waiting take; ended[] says why
        p2pLock.lock();
        try {
            p2pArrived.signalAll();
        } finally {
            p2pLock.unlock();
        }
    }

    /** Reads a collective frame of {@code len} bytes into a buffer from the pool and queues it; false at the end. */
    private boolean readCollective(int peer, SocketChannel ch, int len) throws IOException {
        ByteBuffer frame = len <= FRAME_BYTES ? pools.get(peer).poll() : null;
        if (frame == null) {
            frame = newFrame(len); // the pool is empty (the consumer is behind): never wait for it
        }
        frame.clear().limit(len);
        if (!readFully(ch, frame)) {
            return false;
        }
        inboxes.get(peer).add(frame.flip());
        return true;
    }

    /**
     * A direct buffer for a frame of {@code len} bytes (a heap one where the JVM's direct memory limit refuses it).
     * Direct, so that the reductions always read the same kind of segment: a mix of heap and native frames makes the
     * JIT deoptimise the reduce loop (measured: 64 MB over TCP 5x slower).
     */
    private static ByteBuffer newFrame(int len) {
        try {
            return ByteBuffer.allocateDirect(Math.max(len, FRAME_BYTES));
        } catch (OutOfMemoryError e) {
            return ByteBuffer.allocate(len);
        }
    }

    /** Reads a point-to-point message of {@code len} bytes and delivers it; false at the end. */
    private boolean readP2p(int peer, SocketChannel ch, int tag, int len) throws IOException {
        byte[] payload = new byte[len];
        if (!readFully(ch, ByteBuffer.wrap(payload))) {
            return false;
        }
        OpHeader h = OpHeader.read(MemorySegment.ofArray(payload), 0);
        byte[] data = java.util.Arrays.copyOfRange(payload, OpHeader.BYTES, payload.length);
        deliver(new P2pMessage(peer, tag, h, data));
        return true;
    }

    /** Gives a frame that {@link #nextFrame} returned back to its peer's pool, if it came from there. */
    private void recycle(int peer, ByteBuffer frame) {
        if (frame.isDirect() && frame.capacity() == FRAME_BYTES) {
            pools.get(peer).offer(frame);
        }
    }

    private void deliver(P2pMessage m) {
        p2pLock.lock();
        try {
            p2p.add(m);
            p2pArrived.signalAll();
        } finally {
            p2pLock.unlock();
        }
    }

    private static boolean readFully(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                return false;
            }
        }
        return true;
    }

    private static void writeFully(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** Writes {@code head} then {@code body}, in as few system calls as the socket allows. */
    private static void writeFully(SocketChannel ch, ByteBuffer head, ByteBuffer body) throws IOException {
        ByteBuffer[] both = {head, body};
        while (body.hasRemaining() || head.hasRemaining()) {
            ch.write(both);
        }
    }

    /** Sends {@code len} bytes of {@code s} from {@code off} to {@code peer} as collective frames. */
    public CompletableFuture<Void> send(int peer, MemorySegment s, long off, long len) {
        return CompletableFuture.runAsync(() -> {
            try {
                ByteBuffer head = sendHeads[peer];
                long done = 0;
                do {
                    int n = (int) Math.min(FRAME_BYTES, len - done);
                    head.clear().put(COLLECTIVE).putInt(0).putInt(n).flip();
                    writeFully(channels[peer], head, s.asSlice(off + done, n).asByteBuffer());
                    done += n;
                } while (done < len);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, writers[peer]);
    }

    /** Sends a point-to-point message: {@code header}, then {@code len} bytes of {@code s} from {@code off}. */
    public CompletableFuture<Void> sendP2p(int peer, int tag, OpHeader header, MemorySegment s, long len) {
        if (len > Integer.MAX_VALUE - OpHeader.BYTES - 16) {
            throw new IllegalArgumentException("a point-to-point message of " + len + " bytes (expected < 2 GiB)");
        }
        return CompletableFuture.runAsync(() -> {
            try {
                ByteBuffer head = sendHeads[peer];
                head.clear().put(P2P).putInt(tag).putInt((int) (OpHeader.BYTES + len)).flip();
                writeFully(channels[peer], head, ByteBuffer.wrap(header.toBytes()));
                if (len > 0) {
                    writeFully(channels[peer], s.asSlice(0, len).asByteBuffer());
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, writers[peer]);
    }

    /** Waits for a send. */
    public void await(CompletableFuture<Void> sent, int peer, Deadline d) {
        while (true) {
            try {
                sent.get(POLL_NANOS, TimeUnit.NANOSECONDS);
                return;
            } catch (TimeoutException e) {
                check(peer, d);
            } catch (java.util.concurrent.ExecutionException e) {
                throw new MemberLostException(peers.names()[peer], d.what() + " (sending to it: " + e.getCause()
                        + ")");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(d.what() + ": interrupted", e);
            }
        }
    }

    /** The next collective frame from {@code peer}, as a copy (for small frames: headers, ids). */
    public byte[] take(int peer, Deadline d) {
        ByteBuffer f = nextFrame(peer, d);
        byte[] b = new byte[f.remaining()];
        f.get(b);
        recycle(peer, f);
        return b;
    }

    /** The next collective frame from {@code peer}, from position 0 to its limit; give it back with recycle. */
    private ByteBuffer nextFrame(int peer, Deadline d) {
        LinkedBlockingQueue<ByteBuffer> q = inboxes.get(peer);
        while (true) {
            ByteBuffer b;
            try {
                b = q.poll(POLL_NANOS, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(d.what() + ": interrupted", e);
            }
            if (b != null && b != END) {
                return b;
            }
            if (b != null) {
                q.add(b); // keep the end marker for later waits
            }
            check(peer, d);
        }
    }

    /**
     * Receives a collective message of {@code len} bytes from {@code peer}, handing each frame to {@code sink}; the
     * frame is valid only until the sink returns.
     */
    public void receive(int peer, long len, Deadline d, FrameSink sink) {
        long done = 0;
        do {
            ByteBuffer f = nextFrame(peer, d);
            int n = f.remaining();
            if (n == 0 && len > 0) {
                throw new IllegalStateException(d.what() + ": an empty frame from rank " + peers.ranks()[peer]);
            }
            try {
                sink.accept(MemorySegment.ofBuffer(f), done);
            } finally {
                recycle(peer, f);
            }
            done += n;
        } while (done < len);
        if (done != len) {
            throw new IllegalStateException(d.what() + ": rank " + peers.ranks()[peer] + " sent " + done
                    + " bytes, expected " + len + " (the ranks are out of step)");
        }
    }

    /** Takes the first point-to-point message from {@code from} (or anyone, if -1) with {@code tag}. */
    public P2pMessage takeP2p(int from, int tag, Deadline d) {
        p2pLock.lock();
        try {
            while (true) {
                for (Iterator<P2pMessage> it = p2p.iterator(); it.hasNext(); ) {
                    P2pMessage m = it.next();
                    if ((from < 0 || m.from() == from) && m.tag() == tag) {
                        it.remove();
                        return m;
                    }
                }
                if (from >= 0) {
                    check(from, d);
                } else {
                    d.check();
                    peers.checkAlive(d.what());
                }
                p2pArrived.awaitNanos(POLL_NANOS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(d.what() + ": interrupted", e);
        } finally {
            p2pLock.unlock();
        }
    }

    private void check(int peer, Deadline d) {
        if (ended.get(peer) != null) {
            throw new MemberLostException(peers.names()[peer], d.what() + " (" + ended.get(peer) + ")");
        }
        peers.checkAlive(d.what());
        d.check();
        if (closed.get()) {
            throw new IllegalStateException(d.what() + ": the group was destroyed");
        }
    }

    /** A frame of a message, at {@code offset} bytes into it; the frame's memory is reused once accept returns. */
    @FunctionalInterface
    public interface FrameSink {
        void accept(MemorySegment frame, long offset);
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            server.close();
        } catch (IOException ignored) {
            // closing; nothing to do
        }
        for (int i = 0; i < channels.length; i++) {
            if (channels[i] != null) {
                try {
                    channels[i].close();
                } catch (IOException ignored) {
                    // closing; nothing to do
                }
                writers[i].shutdownNow();
            }
        }
        for (Thread r : readers) {
            if (r != null) {
                try {
                    r.join(2_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }
}
