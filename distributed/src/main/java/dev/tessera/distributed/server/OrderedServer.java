package dev.tessera.distributed.server;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.tessera.distributed.MemberLostException;
import dev.tessera.distributed.RemoteCallException;
import dev.tessera.distributed.RpcGroup;
import dev.tessera.distributed.World;
import dev.tessera.sharedmem.TensorCodec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One member's access to a versioned key-value server (machin's {@code OrderedServerSimple}); thread-safe. Values
 * pushed are copied (encoded with the project's TensorCodec: serializable objects and DJL NDArrays, as bytes), and
 * each pull returns a fresh copy owned by the caller, its NDArrays attached to the accessor's manager (default
 * {@link World#manager()}).
 *
 * <p>Between a client and a hosted server, a value that is an NDArray, an {@code NDList}, or a list or
 * string-keyed map of NDArrays is handed to the group's RPC as it is, so on one host its arrays above 1 MiB travel
 * as shared-memory stubs both ways (see {@link World.Builder#optTensorBytes}), and across hosts as bytes; the host
 * stores the bytes, as before. Other values, a replicated server's (its log holds bytes), and pulls of a client
 * with its own {@link Builder#optManager manager} travel as an encoded {@code byte[]}, which bounds them at 64 MiB.
 *
 * <p>Rules ({@link #push}): a push to a new key always succeeds; otherwise it succeeds only when the newest stored
 * version equals {@code prevVersion}. The newest {@code versionDepth} versions of each key are kept.
 *
 * <p>Where the data lives:
 * <ul>
 *   <li>hosted (the default, as in machin): in one member ({@link Builder#optHost}), reached through the group's
 *       service table; the data dies with that member;
 *   <li>{@link Builder#optReplicated replicated}: on a Raft group of {@link Builder#optReplicas replicas}
 *       (jgroups-raft, on a channel of its own); every push is committed on a majority before it is acknowledged,
 *       compare-and-set is linearizable, and the server survives the death of any minority of the replicas with no
 *       acknowledged push lost. A client retries a push whose replica died on another replica; a request id
 *       makes the retry safe (it is not applied twice).
 * </ul>
 *
 * <p>{@link Builder#build()} is collective: every member of the group calls it with the same options (it uses
 * the group's barrier). {@link #close()} stops this member's part.
 *
 * <pre>{@code
 * OrderedServer server = OrderedServer.builder().setName("params").setGroup(group).build();
 * server.push("w", weights, 1, 0);                // a new key: succeeds
 * server.push("w", newer, 2, 1);                  // 1 is the newest version: succeeds
 * server.push("w", other, 3, 1);                  // 2 is: fails
 * NDArray w = server.pull("w");                   // version 2, a copy
 * }</pre>
 */
public final class OrderedServer implements AutoCloseable {
    private static final String PREFIX = "tessera.ordered.";

    private final String name;
    private final RpcGroup group;
    private final List<String> servers;
    private final TensorCodec codec;
    private final NDManager manager;
    private final Duration timeout;
    private final VersionedTable hosted;
    private final RaftReplica replica;
    private final AtomicBoolean closed = new AtomicBoolean();

    private OrderedServer(Builder b, List<String> servers, VersionedTable hosted, RaftReplica replica) {
        this.name = b.name;
        this.group = b.group;
        this.servers = servers;
        this.codec = codecOf(b.allowPatterns);
        this.manager = b.manager;
        this.timeout = b.timeout == null ? group.timeout() : b.timeout;
        this.hosted = hosted;
        this.replica = replica;
    }

    /**
     * A builder; {@link Builder#setName} and {@link Builder#setGroup} are required.
     *
     * @return a new builder, not thread-safe
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Stores {@code value} as {@code version} of {@code key}, if {@code key} has no data or its newest version is
     * {@code prevVersion}.
     *
     * @param key the key
     * @param value a serializable value or NDArray (or a graph holding NDArrays); copied
     * @param version the version it becomes
     * @param prevVersion the version it must follow
     * @return true if stored, false if another version is the newest
     * @throws MemberLostException if a hosted server's member died (replicated: only if every replica did)
     * @throws IllegalStateException if a replicated server has no majority within the timeout
     */
    public boolean push(String key, Object value, long version, long prevVersion) {
        checkKey(key);
        ThreadLocalRandom r = ThreadLocalRandom.current();
        if (remoteHost() && isTensorGraph(value)) {
            byte[] command = VersionedTable.pushCommand(key, version, prevVersion, r.nextLong(), r.nextLong(),
                    new byte[0]);
            checkOpen();
            byte[] reply = group.registeredSync(serviceKey(name, servers.getFirst()), command, value);
            return reply[0] == 1;
        }
        byte[] command = VersionedTable.pushCommand(key, version, prevVersion, r.nextLong(), r.nextLong(),
                codec.encode(value));
        return execute(command)[0] == 1;
    }

    /**
     * A copy of the newest version of {@code key}.
     *
     * @param key the key
     * @param <T> the value's type
     * @return the value, or null if the key has no data
     */
    public <T> T pull(String key) {
        Versioned<T> v = pullVersioned(key, null);
        return v == null ? null : v.value();
    }

    /**
     * A copy of version {@code version} of {@code key}.
     *
     * @param key the key
     * @param version the version
     * @param <T> the value's type
     * @return the value, or null if that version is not stored (never pushed, or older than the version depth)
     */
    public <T> T pull(String key, long version) {
        Versioned<T> v = pullVersioned(key, version);
        return v == null ? null : v.value();
    }

    /**
     * The newest version of {@code key} and a copy of its value.
     *
     * @param key the key
     * @param <T> the value's type
     * @return the version and value, or null if the key has no data
     */
    public <T> Versioned<T> pullNewest(String key) {
        return pullVersioned(key, null);
    }

    /**
     * The newest version of {@code key}, only if it is greater than {@code version} (nothing else travels).
     *
     * @param key the key
     * @param version the version the caller has
     * @param <T> the value's type
     * @return the newer version and a copy of its value, or null if there is none
     */
    public <T> Versioned<T> pullIfNewer(String key, long version) {
        checkKey(key);
        return pull(VersionedTable.newerCommand(key, version));
    }

    private <T> Versioned<T> pullVersioned(String key, Long version) {
        checkKey(key);
        return pull(VersionedTable.pullCommand(key, version));
    }

    /** Runs a PULL or NEWER command; from a remote host on this host, an array value may come back by stub. */
    @SuppressWarnings("unchecked")
    private <T> Versioned<T> pull(byte[] command) {
        if (!remoteHost() || manager != null) {
            return decode(execute(command));
        }
        checkOpen();
        Object reply = group.registeredSync(serviceKey(name, servers.getFirst()), command, Boolean.TRUE);
        if (reply instanceof Object[] versioned) {
            return new Versioned<>((Long) versioned[0], (T) versioned[1]);
        }
        return decode((byte[]) reply);
    }

    /**
     * Whether the data is in one other member (hosted, not replicated): array values then travel as RPC values, by
     * stub on one host, else as the tail bytes of TensorCodec (never inside a Java-serialized {@code byte[]}, which
     * the decoder bounds at 64 Mi elements).
     */
    private boolean remoteHost() {
        return hosted == null && replica == null && servers.size() == 1;
    }

    /** Whether {@code value} may travel through the RPC as it is: NDArrays, alone or in a list or string-keyed map. */
    static boolean isTensorGraph(Object value) {
        if (value instanceof NDArray || value instanceof ai.djl.ndarray.NDList) {
            return true;
        }
        if (value instanceof java.util.Map<?, ?> m && !m.isEmpty()) {
            return m.entrySet().stream().allMatch(e -> e.getKey() instanceof String && e.getValue() instanceof NDArray);
        }
        if (value instanceof java.util.List<?> l && !l.isEmpty()) {
            return l.stream().allMatch(NDArray.class::isInstance);
        }
        return false;
    }

    /**
     * The host's service: a byte command, or a command and a value ({@link #push}: the value to store, as bytes), or
     * a command and {@code TRUE} ({@link #pull}: a reply whose value holds arrays goes back as {@code {version,
     * value}}, decoded onto the call's manager, so the RPC may send its arrays by stub).
     */
    static Object serve(VersionedTable table, TensorCodec codec, Object[] args) {
        byte[] command = (byte[]) args[0];
        if (args.length == 1) {
            return table.apply(command);
        }
        if (!(args[1] instanceof Boolean)) {
            return table.apply(command, codec.encode(args[1]));
        }
        byte[] reply = table.apply(command);
        VersionedTable.Reply r = VersionedTable.readReply(reply);
        if (r == null) {
            return reply;
        }
        Object value;
        try {
            value = codec.decode(r.value(), null);
        } catch (IllegalArgumentException holdsArrays) {
            value = codec.decode(r.value(), dev.tessera.distributed.internal.Node.callManager());
        }
        return isTensorGraph(value) ? new Object[] {r.version(), value} : reply;
    }

    static TensorCodec codecOf(List<String> allowPatterns) {
        return TensorCodec.builder().optMode(TensorCodec.Mode.COPY).optAllowPatterns(allowPatterns
                .toArray(String[]::new)).build();
    }

    @SuppressWarnings("unchecked")
    private <T> Versioned<T> decode(byte[] reply) {
        VersionedTable.Reply r = VersionedTable.readReply(reply);
        if (r == null) {
            return null;
        }
        if (manager != null) {
            return new Versioned<>(r.version(), (T) codec.decode(r.value(), manager));
        }
        Object value;
        try {
            value = codec.decode(r.value(), null); // no manager (no engine loaded) unless the value holds NDArrays
        } catch (IllegalArgumentException needsManager) {
            value = codec.decode(r.value(), World.current().manager());
        }
        return new Versioned<>(r.version(), (T) value);
    }

    /**
     * The name of the member that holds the data: the host, or the current Raft leader among the replicas.
     *
     * @return the member's name, or null while a replicated server elects a leader or if this member cannot tell
     *     (a client of a replicated server asks its first live replica)
     */
    public String leader() {
        if (hosted != null || servers.size() == 1) {
            return servers.getFirst();
        }
        if (replica != null) {
            return replica.leader();
        }
        for (String s : servers) {
            try {
                return group.registeredSync(serviceKey(name, s), (Object) null);
            } catch (MemberLostException | NoSuchElementException e) {
                // try the next replica
            }
        }
        return null;
    }

    /**
     * The members that serve the data: the host, or the replicas.
     *
     * @return an immutable list of names
     */
    public List<String> servers() {
        return servers;
    }

    /** Runs a command where the data is: here, at the host, or at the first replica that answers. */
    private byte[] execute(byte[] command) {
        checkOpen();
        if (hosted != null) {
            return hosted.apply(command);
        }
        if (replica != null) {
            return replica.submit(command, timeout);
        }
        if (servers.size() == 1) {
            return group.registeredSync(serviceKey(name, servers.getFirst()), command);
        }
        return executeAtReplicas(command);
    }

    private byte[] executeAtReplicas(byte[] command) {
        long deadline = System.nanoTime() + timeout.toNanos();
        RuntimeException last = null;
        int first = ThreadLocalRandom.current().nextInt(servers.size()); // spreads clients over the replicas
        for (int i = 0; System.nanoTime() < deadline; i++) {
            String replicaName = servers.get((first + i) % servers.size());
            try {
                return group.registeredSync(serviceKey(name, replicaName), command);
            } catch (MemberLostException | NoSuchElementException e) {
                last = e; // that replica died or closed: another one has the data
            } catch (RemoteCallException e) {
                if (!IllegalStateException.class.getName().equals(e.remoteType())) {
                    throw e;
                }
                last = e; // it lost the majority or its leader for longer than the timeout
            }
            if (i % servers.size() == servers.size() - 1) {
                java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L); // every replica failed: let views settle
            }
        }
        IllegalStateException e = new IllegalStateException("ordered server '" + name + "': no replica of " + servers
                + " answered within " + timeout.toMillis() + " ms (a majority must be alive)");
        if (last != null) {
            e.addSuppressed(last);
        }
        throw e;
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("ordered server '" + name + "' is closed in this member");
        }
    }

    private static void checkKey(String key) {
        if (key == null || key.isEmpty() || key.length() > 10_000) {
            throw new IllegalArgumentException("key='" + key + "' (expected a non-empty key of at most 10000 chars)");
        }
    }

    static String serviceKey(String server, String member) {
        return PREFIX + server + "@" + member;
    }

    private static String addressKey(String server, String member) {
        return PREFIX + server + ".raft@" + member;
    }

    /**
     * Stops this member's part: a host's or replica's service is deregistered (its data goes with it; a replicated
     * server keeps the data while a majority of replicas is open), a replica leaves the Raft group and deletes its
     * temporary log. Not collective; idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            if ((hosted != null || replica != null) && !group.isDestroyed()) {
                group.deregister(serviceKey(name, group.currentName()));
                if (replica != null) {
                    group.unpair(addressKey(name, group.currentName()));
                }
            }
        } finally {
            if (replica != null) {
                replica.close();
            }
        }
    }

    @Override
    public String toString() {
        return "OrderedServer[" + name + (replica != null || (hosted == null && servers.size() > 1) ? ", replicas "
                : ", host ") + servers + "]";
    }

    /** A version of a key and a copy of its value; immutable (the value is the caller's). */
    public record Versioned<T>(long version, T value) {}

    /**
     * Options of an ordered server. Not thread-safe; each setter checks its own argument, {@link #build()} how they
     * combine with the group.
     */
    public static final class Builder {
        private String name;
        private RpcGroup group;
        private String host;
        private int versionDepth = 1;
        private boolean replicated;
        private List<String> replicas;
        private String raftBindAddress = "127.0.0.1";
        private Path raftLogDir;
        private Duration timeout;
        private NDManager manager;
        private final List<String> allowPatterns = new ArrayList<>();

        private Builder() {}

        /**
         * The server's name (required), unique in the group.
         *
         * @param name a non-blank name without {@code @}
         * @return this builder
         * @throws IllegalArgumentException if it is blank or holds {@code @}
         */
        public Builder setName(String name) {
            this.name = ServerArgs.name(name);
            return this;
        }

        /**
         * The RPC group that reaches the server (required); every member of it calls {@link #build()}.
         *
         * @param group an open group
         * @return this builder
         * @throws IllegalArgumentException if it is null or destroyed
         */
        public Builder setGroup(RpcGroup group) {
            this.group = ServerArgs.group(group);
            return this;
        }

        /**
         * The member that holds a hosted server's data; default the group's first member.
         *
         * @param member a member of the group
         * @return this builder
         * @throws IllegalArgumentException if it is blank
         */
        public Builder optHost(String member) {
            if (member == null || member.isBlank()) {
                throw new IllegalArgumentException("host='" + member + "' (expected a member's name)");
            }
            this.host = member;
            return this;
        }

        /**
         * How many versions of each key are kept (machin's {@code version_depth}); default 1.
         *
         * @param depth at least 1
         * @return this builder
         * @throws IllegalArgumentException if it is below 1
         */
        public Builder optVersionDepth(int depth) {
            if (depth < 1) {
                throw new IllegalArgumentException("versionDepth=" + depth + " (expected >= 1)");
            }
            this.versionDepth = depth;
            return this;
        }

        /**
         * Whether the data lives on a Raft group of {@link #optReplicas replicas} instead of one host; default false.
         *
         * @param replicated true for Raft
         * @return this builder
         */
        public Builder optReplicated(boolean replicated) {
            this.replicated = replicated;
            return this;
        }

        /**
         * The members of a replicated server's Raft group; default the group's first three members (all of them if
         * fewer). An odd number is best: {@code 2f+1} replicas survive {@code f} deaths.
         *
         * @param members members of the group, at least one, no repeats
         * @return this builder
         * @throws IllegalArgumentException if empty or repeated
         */
        public Builder optReplicas(List<String> members) {
            if (members == null || members.isEmpty() || members.stream().distinct().count() != members.size()
                    || members.stream().anyMatch(m -> m == null || m.isBlank())) {
                throw new IllegalArgumentException("replicas=" + members + " (expected distinct member names)");
            }
            this.replicas = List.copyOf(members);
            return this;
        }

        /**
         * The address each replica's Raft channel binds to (nothing listens on all interfaces); default
         * {@code 127.0.0.1}, which only serves replicas on one host: set it to the member's own address across
         * hosts.
         *
         * @param address an address of this host
         * @return this builder
         * @throws IllegalArgumentException if it is blank
         */
        public Builder optRaftBindAddress(String address) {
            if (address == null || address.isBlank()) {
                throw new IllegalArgumentException("raftBindAddress='" + address + "' (expected an address of this "
                        + "host)");
            }
            this.raftBindAddress = address.strip();
            return this;
        }

        /**
         * Where a replica keeps its Raft log; default a new temporary directory that {@link OrderedServer#close()}
         * deletes (a replica killed with SIGKILL leaves it behind: pass a directory you clean up yourself).
         *
         * @param dir a writable directory (created if missing)
         * @return this builder
         * @throws IllegalArgumentException if it is null
         */
        public Builder optRaftLogDir(Path dir) {
            if (dir == null) {
                throw new IllegalArgumentException("raftLogDir=null (expected a writable directory)");
            }
            this.raftLogDir = dir;
            return this;
        }

        /**
         * How long a push or pull may take (a replicated server retries on other replicas and waits for elections
         * within it); default the group's timeout.
         *
         * @param timeout a positive duration
         * @return this builder
         * @throws IllegalArgumentException if it is not positive
         */
        public Builder optTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout=" + timeout + " (expected > 0)");
            }
            this.timeout = timeout;
            return this;
        }

        /**
         * The manager that pulled NDArrays attach to; default {@link World#manager()}.
         *
         * @param manager an open manager, owned by the caller
         * @return this builder
         * @throws IllegalArgumentException if it is null
         */
        public Builder optManager(NDManager manager) {
            if (manager == null) {
                throw new IllegalArgumentException("manager=null (expected an NDManager)");
            }
            this.manager = manager;
            return this;
        }

        /**
         * Classes that values may hold beyond TensorCodec's defaults (JDK values and collections, tensors); unlike
         * an RPC's arguments, a value's own package is not allowed automatically (it is decoded later, perhaps in
         * another member), so every member that pulls values of its own classes names them here.
         *
         * @param patterns {@code com.example.Task}, {@code com.example.*} or {@code com.example.**}
         * @return this builder
         * @throws IllegalArgumentException if a pattern is malformed (checked by {@link #build()})
         */
        public Builder optAllowPatterns(String... patterns) {
            allowPatterns.addAll(List.of(patterns));
            return this;
        }

        /**
         * Starts this member's part (the host's data, or a replica) and waits until every member of the group
         * has: collective, every group member calls it with the same options.
         *
         * @return this member's accessor
         * @throws IllegalArgumentException if a required option is missing or the host or a replica is not a member
         *     of the group
         * @throws IllegalStateException if a replica's Raft channel cannot start
         */
        public OrderedServer build() {
            if (name == null || group == null) {
                throw new IllegalArgumentException("name=" + name + ", group=" + group + " (both are required)");
            }
            TensorCodec.builder().optAllowPatterns(allowPatterns.toArray(String[]::new)); // checks the patterns
            List<String> members = group.members();
            List<String> servers = replicated ? (replicas != null ? replicas
                    : members.subList(0, Math.min(3, members.size()))) : List.of(host != null ? host
                    : members.getFirst());
            for (String s : servers) {
                if (!members.contains(s)) {
                    throw new IllegalArgumentException("server member '" + s + "' of '" + name + "' is not in group '"
                            + group.name() + "' " + members);
                }
            }
            String me = group.currentName();
            boolean serving = servers.contains(me);
            return replicated ? buildReplicated(List.copyOf(servers), me, serving) : buildHosted(servers, me,
                    serving);
        }

        private OrderedServer buildHosted(List<String> servers, String me, boolean serving) {
            VersionedTable table = serving ? new VersionedTable(versionDepth) : null;
            TensorCodec codec = codecOf(allowPatterns);
            if (serving && !group.register(serviceKey(name, me), args -> serve(table, codec, args))) {
                throw new IllegalStateException("ordered server '" + name + "' exists already in group '"
                        + group.name() + "' (choose another name)");
            }
            group.barrier(); // the registration is visible everywhere after it
            return new OrderedServer(this, servers, table, null);
        }

        private OrderedServer buildReplicated(List<String> servers, String me, boolean serving) {
            int port = serving ? RaftReplica.freePort(raftBindAddress) : -1;
            if (serving && !group.pair(addressKey(name, me), raftBindAddress + ":" + port)) {
                throw new IllegalStateException("ordered server '" + name + "' exists already in group '"
                        + group.name() + "' (choose another name)");
            }
            group.barrier(); // every replica's address is visible after it
            RaftReplica replica = null;
            if (serving) {
                List<String> peers = servers.stream().map(s -> (String) group.getPaired(addressKey(name, s))).toList();
                replica = new RaftReplica("tessera-raft-" + group.name() + "-" + name, me, servers, raftBindAddress,
                        port, peers, raftLogDir == null ? null : raftLogDir.resolve(me), versionDepth);
                RaftReplica r = replica;
                Duration t = timeout == null ? group.timeout() : timeout;
                group.register(serviceKey(name, me), args -> args[0] == null ? r.leader() : r.submit((byte[]) args[0],
                        t));
            }
            group.barrier();
            return new OrderedServer(this, servers, null, replica);
        }
    }
}
