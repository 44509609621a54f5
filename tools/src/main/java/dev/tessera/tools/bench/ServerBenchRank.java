package dev.tessera.tools.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.distributed.RpcGroup;
import dev.tessera.distributed.World;
import dev.tessera.distributed.server.OrderedServer;
import dev.tessera.distributed.server.PushPullGradServer;
import dev.tessera.distributed.server.Servers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Supplier;

/**
 * One World member of {@code bench server} (a child JVM of {@link ServerBenchmark}): {@code rank QUICK ORDERED
 * CLIENTS}. Every rank runs the same cases in the same order (the server builders are collective); worker-1 times
 * the ordered-server round trips, worker-0 (the gradient servers' primary) collects the clients' counts and prints
 * the gradient rows. Rows are {@code RESULT} lines holding a JSON object.
 */
final class ServerBenchRank {
    /** 999 inputs x 1000 units + 1000 biases: one million float32 parameters, 4 MB of gradients. */
    static final int INPUTS = 999;
    static final int UNITS = 1000;
    private static final Duration WAIT = Duration.ofMinutes(5);
    /** Each client's (pushes, seconds), sent to worker-0 by RPC. */
    private static final ConcurrentLinkedQueue<double[]> COUNTS = new ConcurrentLinkedQueue<>();

    private ServerBenchRank() {}

    static void main(String[] args) throws Exception {
        System.setProperty("ai.djl.pytorch.num_threads", "1"); // the JVMs share the host's cores
        boolean quick = Boolean.parseBoolean(args[0]);
        boolean ordered = Boolean.parseBoolean(args[1]);
        int[] clients = args.length > 2 && !args[2].isEmpty()
                ? Arrays.stream(args[2].split(",")).mapToInt(Integer::parseInt).toArray() : new int[0];
        try (World world = World.builder().fromEnvironment().optJoinTimeout(Duration.ofSeconds(120)).build()) {
            RpcGroup g = world.createRpcGroup("bench-server", world.members());
            if (ordered) {
                ordered(world, g, quick);
            }
            for (int n : clients) {
                grad(world, g, n, quick);
            }
            g.barrier(WAIT);
        }
        System.out.flush();
        System.exit(0);
    }

    // ------------------------------------------------------------------------------------------------ ordered

    private static void ordered(World world, RpcGroup g, boolean quick) {
        List<String> m = world.members();
        try (OrderedServer hosted = OrderedServer.builder().setName("bench-hosted").setGroup(g).optHost(m.get(0))
                .optTimeout(Duration.ofSeconds(60)).build()) {
            roundTrips(world, g, hosted, "hosted", quick ? 200 : 1000, quick ? 20 : 100);
        }
        try (OrderedServer replicated = OrderedServer.builder().setName("bench-replicated").setGroup(g)
                .optReplicated(true).optReplicas(m.subList(0, 3)).optTimeout(Duration.ofSeconds(60)).build()) {
            roundTrips(world, g, replicated, "replicated", quick ? 20 : 100, quick ? 5 : 20);
        }
    }

    /** Worker-1 times push-then-pull of a Long and of a 1 MB NDArray; everyone waits at a barrier after. */
    private static void roundTrips(World world, RpcGroup g, OrderedServer s, String kind, int small, int large) {
        if (world.rank() == 1) {
            time(s, "ordered-" + kind + "-small", Long.BYTES, small, () -> 42L);
            try (NDManager manager = NDManager.newBaseManager()) {
                NDArray mb = manager.ones(new Shape((1 << 20) / Float.BYTES));
                time(s, "ordered-" + kind + "-1MB", 1 << 20, large, () -> mb);
            }
        }
        g.barrier(WAIT);
    }

    private static void time(OrderedServer s, String name, int bytes, int calls, Supplier<Object> value) {
        long version = 0;
        int warmUp = Math.max(5, calls / 5);
        double[] micros = new double[calls];
        for (int i = 0; i < warmUp + calls; i++) {
            long t0 = System.nanoTime();
            if (!s.push(name, value.get(), version + 1, version)) {
                throw new IllegalStateException(name + ": push of version " + (version + 1) + " after " + version
                        + " failed, but this JVM is the only pusher");
            }
            version++;
            Object pulled = s.pull(name);
            if (pulled instanceof NDArray a) {
                a.close();
            }
            if (i >= warmUp) {
                micros[i - warmUp] = (System.nanoTime() - t0) / 1e3;
            }
        }
        double[] sorted = micros.clone();
        Arrays.sort(sorted);
        result(ServerBenchmark.MAPPER.createObjectNode().put("case", name).put("bytes", bytes).put("calls", calls)
                .put("medianMicros", QueueBenchmark.median(micros))
                .put("p90Micros", sorted[(int) Math.min(calls - 1, Math.ceil(calls * 0.9) - 1)]));
    }

    // ------------------------------------------------------------------------------------------------ gradients

    /**
     * Throughput with {@code clients} client JVMs (worker-1..clients) and worker-0 as primary; the others only
     * meet the barrier.
     */
    private static void grad(World world, RpcGroup g, int clients, boolean quick) throws Exception {
        List<String> members = world.members().subList(0, clients + 1);
        if (members.contains(world.name())) {
            RpcGroup group = world.createRpcGroup("bench-grad-" + clients, members);
            try (NDManager manager = NDManager.newBaseManager()) {
                Block model = Linear.builder().setUnits(UNITS).build();
                model.initialize(manager, DataType.FLOAT32, new Shape(1, INPUTS));
                Map<String, PushPullGradServer> servers = Servers.gradServers(group, Map.of("bench", model),
                        n -> Optimizer.sgd().setLearningRateTracker(Tracker.fixed(1e-6f)).build());
                PushPullGradServer server = servers.get("bench");
                Duration window = Duration.ofSeconds(quick ? 2 : 5);
                if (world.rank() == 0) {
                    COUNTS.clear();
                    group.barrier(WAIT); // the clients warmed up
                    group.barrier(WAIT); // the clients pushed for the window and sent their counts
                    quiesce(server);
                    gradRow(group, server, clients, members);
                } else {
                    push(group, server, model, window);
                }
                group.barrier(WAIT); // the row is out: no push is in flight when the roles close
                server.close();
                group.barrier(WAIT);
            }
            group.destroy();
        }
        g.barrier(WAIT);
    }

    /** A client: warm up, then pull-when-newer and push for the window; sends (pushes, seconds) to worker-0. */
    private static void push(RpcGroup group, PushPullGradServer server, Block model, Duration window) {
        setGradients(model, 1e-3f);
        for (int i = 0; i < 3; i++) {
            server.pull(model);
            server.push(model);
        }
        group.barrier(WAIT);
        long start = System.nanoTime();
        long end = start + window.toNanos();
        long pushes = 0;
        while (System.nanoTime() < end) {
            server.pull(model); // only when newer; the gradients stay (pull writes the parameters)
            server.push(model);
            pushes++;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        group.rpcSync(group.members().getFirst(), ServerBenchRank::count, new double[] {pushes, seconds});
        group.barrier(WAIT);
    }

    /** Runs in worker-0: one client's count. */
    static Boolean count(double[] pushesAndSeconds) {
        return COUNTS.add(pushesAndSeconds);
    }

    /**
     * Waits (up to 10 s) until the primary has applied no batch for 500 ms: the reducers' partial batches are
     * flushed after their 100 ms delay, and closing the roles while one is in flight would drop it with a warning.
     */
    private static void quiesce(PushPullGradServer server) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        long applied = server.stats().applied();
        long since = System.nanoTime();
        while (System.nanoTime() - since < Duration.ofMillis(500).toNanos() && System.nanoTime() < deadline) {
            Thread.sleep(20); // polling a counter that only the reducers' timers move
            long now = server.stats().applied();
            if (now != applied) {
                applied = now;
                since = System.nanoTime();
            }
        }
    }

    private static void gradRow(RpcGroup group, PushPullGradServer server, int clients, List<String> members) {
        if (COUNTS.size() != clients) {
            throw new IllegalStateException("grad-1M-" + clients + "clients: " + COUNTS.size() + " of " + clients
                    + " clients reported their counts");
        }
        double perSecond = 0;
        long pushes = 0;
        for (double[] c : new ArrayList<>(COUNTS)) {
            perSecond += c[0] / c[1];
            pushes += (long) c[0];
        }
        long received = 0;
        long droppedStale = 0;
        long droppedOverflow = 0;
        for (String m : members) {
            PushPullGradServer.Stats s = m.equals(group.currentName()) ? server.stats() : server.stats(m);
            received += s.received();
            droppedStale += s.droppedStale();
            droppedOverflow += s.droppedOverflow();
        }
        PushPullGradServer.Stats primary = server.stats();
        long parameters = (long) UNITS * INPUTS + UNITS;
        result(ServerBenchmark.MAPPER.createObjectNode().put("case", "grad-1M-" + clients + "clients")
                .put("clients", clients).put("parameters", parameters).put("pushes", pushes)
                .put("gradientsPerSec", perSecond).put("mbPerSec", perSecond * parameters * Float.BYTES / 1e6)
                .put("received", received).put("appliedBatches", primary.applied())
                .put("droppedStale", droppedStale).put("droppedOverflow", droppedOverflow));
    }

    /** Every parameter's gradient set to {@code g} (a backward pass of {@code sum(p * g)}), once per client. */
    private static void setGradients(Block block, float g) {
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray loss = null;
            for (Pair<String, Parameter> p : block.getParameters()) {
                NDArray term = p.getValue().getArray().mul(g).sum();
                loss = loss == null ? term : loss.add(term);
            }
            gc.backward(loss);
        }
    }

    private static void result(ObjectNode row) {
        System.out.println("RESULT " + row);
        System.out.flush();
    }
}
