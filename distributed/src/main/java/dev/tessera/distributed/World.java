package dev.tessera.distributed;

import ai.djl.ndarray.NDManager;
import dev.tessera.distributed.internal.Node;
import dev.tessera.distributed.internal.Settings;
import dev.tessera.sharedmem.internal.AllowPatterns;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This process's membership of a World of named JVMs; thread-safe, and the one owner of the process's JGroups
 * channel, its sockets and threads, and the NDManager that NDArrays received from other members attach to
 * ({@link #manager()}); {@link #close()} releases them all and the other members see this one leave.
 *
 * <p>A World has a fixed size. Each member has a unique name and a rank in {@code [0, worldSize)}; rank 0 listens on
 * the coordinator's address, and the others find the World through it. {@link Builder#build()} returns once every
 * member has joined. After that no rank is special: if rank 0 dies, the others carry on.
 *
 * <pre>{@code
 * try (World world = World.fromEnvironment()) {          // or World.builder()...build()
 *     RpcGroup group = world.createRpcGroup("workers", world.members());
 *     int sum = group.rpcSync("worker-1", Math::addExact, 2, 3);
 *     group.barrier(Duration.ofSeconds(30));
 * }
 * }</pre>
 *
 * <p>Environment read by {@link #fromEnvironment()} (the launcher, {@code ./tessera launch}, sets them):
 * <ul>
 *   <li>{@code TESSERA_RANK}: this member's rank (required);
 *   <li>{@code TESSERA_WORLD_SIZE}: the number of members (required);
 *   <li>{@code TESSERA_COORDINATOR}: {@code host:port} of rank 0 (default {@value #DEFAULT_COORDINATOR});
 *   <li>{@code TESSERA_NAME}: this member's name (default {@code worker-RANK});
 *   <li>{@code TESSERA_BIND}: the address to bind (default: see {@link Builder#optBindAddress}).
 * </ul>
 *
 * <p>One World per process: a second {@code build()} while one is open is an error. Close the World when done; its
 * threads are daemons, so a program whose {@code main} returns with the World open still exits, and a shutdown hook
 * then closes the World (logging a warning), as it does when the JVM is stopped by a signal.
 */
public final class World implements AutoCloseable {
    /** The default coordinator address, {@value}. */
    public static final String DEFAULT_COORDINATOR = "127.0.0.1:7800";
    /** The environment variable of the rank. */
    public static final String ENV_RANK = "TESSERA_RANK";
    /** The environment variable of the world size. */
    public static final String ENV_WORLD_SIZE = "TESSERA_WORLD_SIZE";
    /** The system property that sets the default of {@link Builder#optTensorBytes} ({@code true} or {@code false}). */
    public static final String TENSOR_BYTES_PROPERTY = "tessera.distributed.tensorBytes";

    /** The environment variable of the coordinator's {@code host:port}. */
    public static final String ENV_COORDINATOR = "TESSERA_COORDINATOR";
    /** The environment variable of the member's name. */
    public static final String ENV_NAME = "TESSERA_NAME";
    /** The environment variable of the address to bind. */
    public static final String ENV_BIND = "TESSERA_BIND";

    private static final Logger LOG = LoggerFactory.getLogger(World.class);
    private static final AtomicReference<World> CURRENT = new AtomicReference<>();

    private final Node node;
    /** Closes the World if the JVM exits while it is open; removed by {@link #close()}. */
    private final Thread exitHook = Thread.ofPlatform().name("tessera-world-exit").unstarted(this::closeAtExit);
    private final Map<String, RpcGroup> groups = new ConcurrentHashMap<>();
    private final Map<String, CollectiveGroup> collectives = new ConcurrentHashMap<>();

    /** How many shared-memory stubs this member has handed off in RPC messages (for tests). */
    long stubsHandedOff() {
        return node.stubsHandedOff();
    }

    private World(Node node) {
        this.node = node;
    }

    /**
     * A builder; {@link Builder#setName}, {@link Builder#setRank} and {@link Builder#setWorldSize} are required.
     *
     * @return a new builder, not thread-safe
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Joins the World described by the environment ({@code TESSERA_RANK}, {@code TESSERA_WORLD_SIZE},
     * {@code TESSERA_COORDINATOR}, {@code TESSERA_NAME}, {@code TESSERA_BIND}; see the class comment) with the
     * defaults of every other option.
     *
     * @return the joined World, complete
     * @throws IllegalArgumentException naming the variable if one is missing or malformed
     * @throws IllegalStateException as {@link Builder#build()}
     */
    public static World fromEnvironment() {
        return builder().fromEnvironment().build();
    }

    /**
     * The World of this process.
     *
     * @return the open World
     * @throws IllegalStateException if none is open
     */
    public static World current() {
        World w = CURRENT.get();
        if (w == null || w == CLAIMING_WORLD) {
            throw new IllegalStateException("no World is open in this process; join one with World.builder()...build() "
                    + "or World.fromEnvironment()");
        }
        return w;
    }

    /** Marks the slot while a World is being built, so that a concurrent second build fails too. */
    private static final World CLAIMING_WORLD = new World(null);

    /**
     * This member's rank.
     *
     * @return the rank, {@code 0 <= rank < worldSize()}
     */
    public int rank() {
        return node.settings().rank();
    }

    /**
     * This member's name.
     *
     * @return the name, unique in the World
     */
    public String name() {
        return node.settings().name();
    }

    /**
     * The number of members the World was built with.
     *
     * @return the world size
     */
    public int worldSize() {
        return node.settings().worldSize();
    }

    /**
     * The members now in the World, in rank order; a member that died or closed is gone from it.
     *
     * @return an immutable list of names
     */
    public List<String> members() {
        return node.members();
    }

    /**
     * The manager that NDArrays received from other members (results, fetched references, paired values) attach
     * to; created on first use and closed by {@link #close()}. Attach received arrays to a manager of your own to
     * keep them longer, or close them when done.
     *
     * @return the World's manager
     * @throws IllegalStateException if the World is closed
     */
    public NDManager manager() {
        return node.manager();
    }

    /**
     * Creates this member's side of an RPC group; every member of the group creates it too, with the same name and
     * members (a call that arrives before the callee created the group waits for it, up to the RPC timeout).
     *
     * @param name the group's name, unique among this process's open groups
     * @param members the names of the group's members; this member must be one of them
     * @return the group, open until {@link RpcGroup#destroy()} or {@link #close()}
     * @throws IllegalArgumentException if the name is blank or taken, a member is not in the World, or this member
     *     is not among them
     */
    public RpcGroup createRpcGroup(String name, Collection<String> members) {
        checkOpen();
        if (name == null || name.isBlank() || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("group name '" + name + "' (expected a non-blank name)");
        }
        Set<String> set = new LinkedHashSet<>(Objects.requireNonNull(members, "members"));
        List<String> unknown = new ArrayList<>(set);
        unknown.removeAll(node.members());
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("group '" + name + "': " + unknown + " are not members of the World "
                    + node.members());
        }
        if (!set.contains(name())) {
            throw new IllegalArgumentException("group '" + name + "': this member '" + name() + "' is not among its "
                    + "members " + set + " (a group is created by each of its members)");
        }
        RpcGroup group = new RpcGroup(this, node, name, List.copyOf(set), node.settings().rpcTimeout());
        if (groups.putIfAbsent(name, group) != null) {
            throw new IllegalArgumentException("group '" + name + "' already exists in member '" + name()
                    + "' (destroy it first, or choose another name)");
        }
        node.openGroup(name, set);
        return group;
    }

    /**
     * Creates this member's side of a collective group of the given world ranks, with the default options (see
     * {@link #createCollectiveGroup(String, List, CollectiveGroup.Options)}).
     *
     * @param name the group's name, unique among this process's open collective groups
     * @param ranks the world ranks of the group; this member's rank must be one of them
     * @return the group, open until {@link CollectiveGroup#destroy()} or {@link #close()}
     * @throws IllegalArgumentException if the name is blank or taken, or a rank is not in the World
     * @throws GroupTimeoutException if a rank does not create the group within the timeout
     * @throws MemberLostException if a rank dies meanwhile
     */
    public CollectiveGroup createCollectiveGroup(String name, List<Integer> ranks) {
        return createCollectiveGroup(name, ranks, CollectiveGroup.options());
    }

    /**
     * Creates this member's side of a collective group of the given world ranks; every rank of the group creates it
     * too, with the same name, ranks and transport, and this call waits (up to the options' timeout) until all did.
     *
     * @param name the group's name, unique among this process's open collective groups
     * @param ranks the world ranks of the group; this member's rank must be one of them
     * @param options the transport, timeout and slot size
     * @return the group, open until {@link CollectiveGroup#destroy()} or {@link #close()}
     * @throws IllegalArgumentException if the name is blank or taken, a rank is not in the World, or the ranks asked
     *     for different transports or shared memory across hosts
     * @throws GroupTimeoutException if a rank does not create the group within the timeout
     * @throws MemberLostException if a rank dies meanwhile
     */
    public CollectiveGroup createCollectiveGroup(String name, List<Integer> ranks, CollectiveGroup.Options options) {
        checkOpen();
        if (name == null || name.isBlank() || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("collective group name '" + name + "' (expected a non-blank name)");
        }
        if (collectives.putIfAbsent(name, CollectiveGroup.CLAIMING) != null) {
            throw new IllegalArgumentException("collective group '" + name + "' already exists in member '" + name()
                    + "' (destroy it first, or choose another name)");
        }
        try {
            CollectiveGroup g = CollectiveGroup.create(this, node, name, ranks, options);
            collectives.put(name, g);
            return g;
        } catch (RuntimeException | Error e) {
            collectives.remove(name);
            throw e;
        }
    }

    void forget(CollectiveGroup group) {
        collectives.remove(group.name(), group);
    }

    void forget(RpcGroup group) {
        groups.remove(group.name(), group);
        node.closeGroup(group.name());
    }

    private void checkOpen() {
        if (node.isClosed()) {
            throw new IllegalStateException("the World of member '" + name() + "' is closed");
        }
    }

    /**
     * Leaves the World: the other members see this one go (their calls to it fail with
     * {@link MemberLostException}), its groups are destroyed and its resources released. Idempotent.
     */
    @Override
    public void close() {
        if (node.isClosed()) {
            return;
        }
        if (Thread.currentThread() != exitHook) {
            try {
                Runtime.getRuntime().removeShutdownHook(exitHook);
            } catch (IllegalStateException shuttingDown) {
                // the JVM is exiting; the hook, if it runs, finds the World closed
            }
        }
        for (CollectiveGroup g : collectives.values()) {
            if (g != CollectiveGroup.CLAIMING) {
                g.destroy();
            }
        }
        node.close();
        groups.clear();
        CURRENT.compareAndSet(this, null);
    }

    /** The shutdown hook: a program that exits with its World open still leaves it, so its peers see a leave. */
    private void closeAtExit() {
        if (!node.isClosed()) {
            LOG.warn("the JVM is exiting with the World of member '{}' open; closing it now (close the World when "
                    + "done, for example with try-with-resources, so that its peers see it leave when you choose)",
                    name());
            close();
        }
    }

    @Override
    public String toString() {
        return "World[" + name() + ", rank " + rank() + " of " + worldSize() + ", members " + members() + "]";
    }

    /** Runs a function a caller sent, with the arguments it sent; services are invoked with their arguments. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static Object invoke(Object fn, Object[] args) throws Exception {
        return switch (fn) {
            case RemoteCallable c when args.length == 0 -> c.call();
            case RemoteFunction f when args.length == 1 -> f.apply(args[0]);
            case RemoteBiFunction f when args.length == 2 -> f.apply(args[0], args[1]);
            case Service s -> s.call(args);
            case null, default -> throw new IllegalArgumentException("cannot call " + fn + " with " + args.length
                    + " argument(s)");
        };
    }

    /**
     * Options of a World. Not thread-safe; each setter checks its own argument, {@link #build()} how they combine.
     */
    public static final class Builder {
        private String name;
        private int rank = -1;
        private int worldSize = -1;
        private String coordinator = DEFAULT_COORDINATOR;
        private String bindAddress;
        private Duration joinTimeout = Duration.ofSeconds(60);
        private Duration rpcTimeout = Duration.ofSeconds(60);
        private Duration failureTimeout = Duration.ofSeconds(10);
        private final List<String> allowPatterns = new ArrayList<>();
        private String cluster = "tessera";
        private boolean tensorBytes = Boolean.parseBoolean(System.getProperty(TENSOR_BYTES_PROPERTY, "false"));

        private Builder() {}

        /**
         * This member's name (required), unique in the World.
         *
         * @param name a non-blank name
         * @return this builder
         * @throws IllegalArgumentException if it is blank
         */
        public Builder setName(String name) {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("name='" + name + "' (expected a non-blank member name)");
            }
            this.name = name;
            return this;
        }

        /**
         * This member's rank (required); rank 0 founds the World at the coordinator address.
         *
         * @param rank {@code 0 <= rank < worldSize}
         * @return this builder
         * @throws IllegalArgumentException if it is negative
         */
        public Builder setRank(int rank) {
            if (rank < 0) {
                throw new IllegalArgumentException("rank=" + rank + " (expected >= 0)");
            }
            this.rank = rank;
            return this;
        }

        /**
         * The number of members (required); {@link #build()} waits for all of them.
         *
         * @param worldSize the size, at least 1
         * @return this builder
         * @throws IllegalArgumentException if it is below 1
         */
        public Builder setWorldSize(int worldSize) {
            if (worldSize < 1) {
                throw new IllegalArgumentException("worldSize=" + worldSize + " (expected >= 1)");
            }
            this.worldSize = worldSize;
            return this;
        }

        /**
         * Where rank 0 listens and the others find the World; default {@value World#DEFAULT_COORDINATOR}.
         *
         * @param hostPort {@code host:port}, the port in {@code [1, 65535]}
         * @return this builder
         * @throws IllegalArgumentException if it is not {@code host:port}
         */
        public Builder optCoordinator(String hostPort) {
            parseHostPort(hostPort, "coordinator");
            this.coordinator = hostPort.strip();
            return this;
        }

        /**
         * The address this member's sockets bind to (the transport and the failure detector; nothing listens on
         * all interfaces). Default: the coordinator's address if it is a local one (for example 127.0.0.1), else
         * the local address the system routes to the coordinator through.
         *
         * @param address an IP address or host name of this machine
         * @return this builder
         * @throws IllegalArgumentException if it is blank
         */
        public Builder optBindAddress(String address) {
            if (address == null || address.isBlank()) {
                throw new IllegalArgumentException("bindAddress='" + address + "' (expected an address of this host)");
            }
            this.bindAddress = address.strip();
            return this;
        }

        /**
         * How long {@link #build()} waits for every member to join; default 60 s. Progress is logged every 5 s.
         *
         * @param timeout a positive duration
         * @return this builder
         * @throws IllegalArgumentException if it is not positive
         */
        public Builder optJoinTimeout(Duration timeout) {
            this.joinTimeout = positive("joinTimeout", timeout);
            return this;
        }

        /**
         * The default timeout of an RPC group's calls, barriers and key changes; default 60 s
         * ({@link RpcGroup#withTimeout} changes it per group view). A dead member fails them much sooner, with
         * {@link MemberLostException}.
         *
         * @param timeout a positive duration
         * @return this builder
         * @throws IllegalArgumentException if it is not positive
         */
        public Builder optRpcTimeout(Duration timeout) {
            this.rpcTimeout = positive("rpcTimeout", timeout);
            return this;
        }

        /**
         * How long a member that sends no heartbeat (hung, or its host unreachable) lives before it is excluded;
         * default 10 s. A killed process is detected much sooner, as soon as its sockets close (well under a
         * second), whatever this is. Lower it to exclude hung members sooner; on a loaded host, a value of a couple of
         * seconds lets members that merely missed heartbeats (GC pauses, CPU starvation) be excluded as dead.
         *
         * @param timeout at least 400 ms
         * @return this builder
         * @throws IllegalArgumentException if it is shorter
         */
        public Builder optFailureTimeout(Duration timeout) {
            if (timeout == null || timeout.toMillis() < 400) {
                throw new IllegalArgumentException("failureTimeout=" + timeout + " (expected >= 400 ms)");
            }
            this.failureTimeout = timeout;
            return this;
        }

        /**
         * Whether NDArrays in RPC payloads (arguments, results, services, fetched references, and so the parameter
         * servers' values) always travel as bytes. Default false, or the system property
         * {@value World#TENSOR_BYTES_PROPERTY}: between two members on one host (same boot id and host name, carried
         * in their JGroups addresses), an NDArray of more than 1 MiB ({@code TensorCodec.DEFAULT_MAX_NBYTES})
         * travels as a shared-memory stub (TensorCodec's AUTO threshold; staged in a pool of this World's segments,
         * released when it closes), a smaller one, or any across hosts, as bytes.
         * True forces bytes everywhere, so the cross-host path can be tested and measured on one machine.
         *
         * @param bytes true to force bytes
         * @return this builder
         */
        public Builder optTensorBytes(boolean bytes) {
            this.tensorBytes = bytes;
            return this;
        }

        /**
         * Classes that payloads may hold beyond the defaults (JDK values and collections, tensors, and the package
         * trees of the functions and arguments handed to a call); same rule as TensorCodec's and the pools'.
         *
         * @param patterns {@code com.example.Task}, {@code com.example.*} or {@code com.example.**}; added to
         *     those of earlier calls
         * @return this builder
         * @throws IllegalArgumentException if a pattern is malformed
         */
        public Builder optAllowPatterns(String... patterns) {
            allowPatterns.addAll(AllowPatterns.check(patterns));
            return this;
        }

        /**
         * The JGroups cluster name; default {@code tessera}. Worlds with different names never mix, even at one
         * coordinator address.
         *
         * @param cluster a non-blank name
         * @return this builder
         * @throws IllegalArgumentException if it is blank
         */
        public Builder optClusterName(String cluster) {
            if (cluster == null || cluster.isBlank()) {
                throw new IllegalArgumentException("clusterName='" + cluster + "' (expected a non-blank name)");
            }
            this.cluster = cluster;
            return this;
        }

        /**
         * Reads the launcher's variables ({@code TESSERA_RANK}, {@code TESSERA_WORLD_SIZE},
         * {@code TESSERA_COORDINATOR}, {@code TESSERA_NAME}, {@code TESSERA_BIND}) from the environment into this builder; further options may
         * follow.
         *
         * @return this builder
         * @throws IllegalArgumentException naming the variable if one is missing or malformed
         */
        public Builder fromEnvironment() {
            return fromEnvironment(System.getenv());
        }

        Builder fromEnvironment(Map<String, String> env) {
            setRank(intVar(env, ENV_RANK));
            setWorldSize(intVar(env, ENV_WORLD_SIZE));
            if (env.get(ENV_COORDINATOR) != null) {
                optCoordinator(env.get(ENV_COORDINATOR));
            }
            if (env.get(ENV_BIND) != null) {
                optBindAddress(env.get(ENV_BIND));
            }
            String n = env.get(ENV_NAME);
            setName(n == null || n.isBlank() ? "worker-" + rank : n);
            return this;
        }

        private static int intVar(Map<String, String> env, String var) {
            String v = env.get(var);
            if (v == null) {
                throw new IllegalArgumentException(var + " is not set; the launcher (./tessera launch) sets it, or "
                        + "set it yourself, or use World.builder()");
            }
            try {
                return Integer.parseInt(v.strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(var + "='" + v + "' (expected an integer)", e);
            }
        }

        /**
         * Joins the World and waits (up to the join timeout, logging progress) until every member has joined.
         *
         * @return the World, complete
         * @throws IllegalArgumentException if a required option is missing or {@code rank >= worldSize}
         * @throws IllegalStateException if a World is already open in this process, the World is not complete in
         *     time, two members share a name or rank, or the sockets cannot bind
         */
        public World build() {
            Settings settings = settings();
            if (!CURRENT.compareAndSet(null, CLAIMING_WORLD)) {
                World open = CURRENT.get();
                throw new IllegalStateException("a World is already open in this process (" + (open == CLAIMING_WORLD
                        ? "being built" : open) + "); close it first: a process is one member of one World");
            }
            try {
                World w = new World(Node.join(settings, World::invoke));
                try {
                    Runtime.getRuntime().addShutdownHook(w.exitHook);
                } catch (IllegalStateException shuttingDown) {
                    w.close();
                    throw new IllegalStateException("the JVM is shutting down; no World can be joined now",
                            shuttingDown);
                }
                CURRENT.set(w);
                return w;
            } catch (RuntimeException | Error e) {
                CURRENT.set(null);
                throw e;
            }
        }

        private Settings settings() {
            if (name == null || rank < 0 || worldSize < 1) {
                throw new IllegalArgumentException("name, rank and worldSize are required (name=" + name + ", rank="
                        + rank + ", worldSize=" + worldSize + ")");
            }
            if (rank >= worldSize) {
                throw new IllegalArgumentException("rank=" + rank + " (expected < worldSize=" + worldSize + ")");
            }
            InetSocketAddress coord = parseHostPort(coordinator, "coordinator");
            InetAddress bind = bindAddress != null ? resolve(bindAddress, "bindAddress") : routeTo(coord.getAddress());
            if (rank == 0 && !isLocal(coord.getAddress())) {
                throw new IllegalArgumentException("coordinator=" + coordinator + " is not an address of this host, "
                        + "but rank 0 listens on it; run rank 0 on that host or change the coordinator");
            }
            if (rank == 0) {
                bind = coord.getAddress();
            }
            return new Settings(name, rank, worldSize, coord.getAddress(), coord.getPort(), bind, joinTimeout,
                    rpcTimeout, failureTimeout, allowPatterns, cluster, tensorBytes);
        }

        private static Duration positive(String option, Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(option + "=" + d + " (expected > 0)");
            }
            return d;
        }

        private static InetSocketAddress parseHostPort(String hostPort, String option) {
            int colon = hostPort == null ? -1 : hostPort.strip().lastIndexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException(option + "='" + hostPort + "' (expected host:port)");
            }
            String s = hostPort.strip();
            int port;
            try {
                port = Integer.parseInt(s.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(option + "='" + hostPort + "' (expected host:port)", e);
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException(option + "='" + hostPort + "': port " + port
                        + " (expected 1..65535)");
            }
            return new InetSocketAddress(resolve(s.substring(0, colon), option), port);
        }

        private static InetAddress resolve(String host, String option) {
            try {
                return InetAddress.getByName(host);
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException(option + ": unknown host '" + host + "'", e);
            }
        }

        private static boolean isLocal(InetAddress a) {
            try {
                return a.isLoopbackAddress() || NetworkInterface.getByInetAddress(a) != null;
            } catch (SocketException e) {
                return false;
            }
        }

        /** The local address that reaches {@code target} (the coordinator itself if it is local); no packet is sent. */
        private static InetAddress routeTo(InetAddress target) {
            if (isLocal(target)) {
                return target;
            }
            try (DatagramSocket probe = new DatagramSocket()) {
                probe.connect(target, 9);
                return probe.getLocalAddress();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot find the local address that reaches the coordinator "
                        + target.getHostAddress() + "; set optBindAddress (or TESSERA_BIND)", e);
            }
        }
    }
}
