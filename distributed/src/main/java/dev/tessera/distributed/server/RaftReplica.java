package dev.tessera.distributed.server;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.jgroups.Address;
import org.jgroups.JChannel;
import org.jgroups.raft.RaftHandle;
import org.jgroups.raft.StateMachine;

/**
 * One replica of a replicated {@link OrderedServer}: a JGroups channel of its own running Raft (jgroups-raft), whose
 * replicated state machine is a {@link VersionedTable}; thread-safe, and the owner of its channel, its log directory
 * (deleted by {@link #close()} when the replica created it) and its table.
 *
 * <p>Every command, reads included, goes through the Raft log: {@link #submit} returns once the command is committed
 * on a majority and applied here, with the leader's reply. Pushes are compare-and-set on the table, so applying
 * them in log order on every replica makes compare-and-set linearizable; reads through the log are linearizable
 * too (a leader's local read could be stale after it lost leadership unknowingly).
 */
final class RaftReplica implements StateMachine, AutoCloseable {
    private static final String STACK = "tessera-raft.xml";
    private static final int FD_OFFSET = 100;
    private static final long RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    private static final Duration ATTEMPT = Duration.ofSeconds(2);
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(25);

    private final VersionedTable table;
    private final JChannel channel;
    private final RaftHandle raft;
    private final Path logDir;
    private final boolean ownsLogDir;
    private final AtomicBoolean closed = new AtomicBoolean();

    /**
     * Joins the Raft group of {@code members} (raft ids) as {@code raftId}, listening on {@code port}.
     *
     * @param peers {@code host:port} of every member's channel, this one included
     * @param logDir the log directory, or null for a new temporary one that {@link #close()} deletes
     */
    RaftReplica(String cluster, String raftId, List<String> members, String bindAddress, int port, List<String> peers,
            Path logDir, int versionDepth) {
        this.table = new VersionedTable(versionDepth);
        try {
            this.ownsLogDir = logDir == null;
            this.logDir = logDir == null ? Files.createTempDirectory("tessera-raft-") : Files.createDirectories(logDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the Raft log directory " + logDir + " (pass a writable one "
                    + "with optRaftLogDir)", e);
        }
        JChannel ch = null;
        try {
            ch = new JChannel(new java.io.ByteArrayInputStream(stack(raftId, members, bindAddress, port, peers)
                    .getBytes(StandardCharsets.UTF_8)));
            ch.name(raftId);
            this.raft = new RaftHandle(ch, this);
            ch.connect(cluster);
            this.channel = ch;
        } catch (Exception e) {
            if (ch != null) {
                ch.close();
            }
            deleteLogDir();
            throw new IllegalStateException("replica '" + raftId + "' of " + cluster + " could not start its Raft "
                    + "channel on " + bindAddress + ":" + port + ": " + e, e);
        }
    }

    /** A port that is free on {@code address} now, with its failure-detection port {@value #FD_OFFSET} above. */
    static int freePort(String address) {
        try {
            InetAddress a = InetAddress.getByName(address);
            for (int attempt = 0; attempt < 50; attempt++) {
                try (ServerSocket s = new ServerSocket(0, 1, a)) {
                    int port = s.getLocalPort();
                    if (port + FD_OFFSET + 50 > 65535) {
                        continue;
                    }
                    try (ServerSocket fd = new ServerSocket(port + FD_OFFSET, 1, a)) {
                        return fd.getLocalPort() - FD_OFFSET;
                    } catch (IOException taken) {
                        // try another
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot bind on " + address + " (set optRaftBindAddress to an address "
                    + "of this host)", e);
        }
        throw new IllegalStateException("no free port pair found on " + address);
    }

    private String stack(String raftId, List<String> members, String bind, int port, List<String> peers) {
        String template;
        try (InputStream in = RaftReplica.class.getResourceAsStream(STACK)) {
            template = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the Raft stack " + STACK, e);
        }
        return template.replace("@bind_addr@", bind)
                .replace("@bind_port@", Integer.toString(port))
                .replace("@initial_hosts@", String.join(",", peers.stream().map(RaftReplica::bracket).toList()))
                .replace("@fd_offset@", Integer.toString(FD_OFFSET))
                .replace("@fd_timeout@", "10000")
                .replace("@fd_interval@", "1000")
                .replace("@members@", String.join(",", members))
                .replace("@raft_id@", raftId)
                .replace("@log_dir@", logDir.toString())
                .replace("@log_prefix@", raftId.replaceAll("[^A-Za-z0-9_.-]", "_"));
    }

    /** TCPPING's {@code host[port]} form of {@code host:port}. */
    private static String bracket(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        return hostPort.substring(0, colon) + "[" + hostPort.substring(colon + 1) + "]";
    }

    /**
     * Commits {@code command} through the Raft log and returns its reply; waits for a leader (an election after the
     * old one died) and retries a command forwarded to a leader that died, until {@code timeout}. A command that
     * timed out may still be applied later: pushes carry request ids, so resubmitting one is safe.
     *
     * @throws IllegalStateException if no leader committed it in time
     */
    byte[] submit(byte[] command, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (!closed.get()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            Address leader = raft.leader();
            if (leader == null) {
                LockSupport.parkNanos(Math.min(left, RETRY_NANOS)); // an election is running
                continue;
            }
            try {
                return await(raft.setAsync(command, 0, command.length), leader, Math.min(left, ATTEMPT.toNanos()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while submitting to Raft replica " + raft.raftId(), e);
            } catch (Exception e) {
                last = e; // no leader yet, or it died or stepped down: submit again to the next one
                LockSupport.parkNanos(RETRY_NANOS);
            }
        }
        IllegalStateException e = new IllegalStateException("replica '" + raft.raftId() + "': no Raft leader committed "
                + "the command within " + timeout.toMillis() + " ms (a majority of the replicas " + raft.raft().members()
                + " must be alive; raise the server's timeout if elections are slow)"
                + (closed.get() ? "; the replica is closed" : ""));
        if (last != null) {
            e.addSuppressed(last);
        }
        throw e;
    }

    /**
     * The reply of a submitted command; gives up early (TimeoutException) when the leader it went to is no longer
     * the leader, since a dead leader's REDIRECT requests are never answered.
     */
    private byte[] await(CompletableFuture<byte[]> reply, Address leader, long nanos) throws Exception {
        long deadline = System.nanoTime() + nanos;
        while (true) {
            try {
                return reply.get(Math.min(POLL_NANOS, Math.max(0, deadline - System.nanoTime())), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                if (System.nanoTime() >= deadline || !leader.equals(raft.leader())) {
                    throw e;
                }
            }
        }
    }

    /** The directory of this replica's log. */
    Path logDir() {
        return logDir;
    }

    /** This replica's raft id. */
    String raftId() {
        return raft.raftId();
    }

    /** The raft id of the leader this replica knows, or null during an election. */
    String leader() {
        Address a = raft.leader();
        return a == null ? null : a.toString();
    }

    @Override
    public byte[] apply(byte[] data, int offset, int length, boolean serializeResponse) {
        byte[] command = offset == 0 && length == data.length ? data
                : java.util.Arrays.copyOfRange(data, offset, offset + length);
        return table.apply(command);
    }

    @Override
    public void readContentFrom(DataInput in) throws IOException {
        table.readFrom(in);
    }

    @Override
    public void writeContentTo(DataOutput out) throws IOException {
        table.writeTo(out);
    }

    /** Leaves the Raft group and deletes the log directory if this replica created it. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            channel.close();
        } finally {
            deleteLogDir();
        }
    }

    private void deleteLogDir() {
        if (!ownsLogDir || !Files.exists(logDir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(logDir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            org.slf4j.LoggerFactory.getLogger(RaftReplica.class).warn("could not delete the Raft log {}: {}", logDir,
                    e.toString());
        }
    }
}
