package dev.tessera.distributed.server;

import dev.tessera.distributed.MemberLostException;
import dev.tessera.distributed.RpcGroup;
import dev.tessera.distributed.World;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A World member for the server tests (run by {@code MemberJvm.start(ServerMemberMain.class, ...)}): joins the World
 * from the environment, creates group {@code g} of all members, builds ordered server {@code s} as its arguments say
 * ({@code hosted HOST DEPTH}, {@code replicated REPLICA,REPLICA,... DEPTH LOGDIR} or {@code none}), prints {@code READY}, then runs
 * one command per stdin line. Stdin's end closes the World and exits.
 */
public final class ServerMemberMain {
    private ServerMemberMain() {}

    public static void main(String[] args) throws Exception {
        try (World world = World.builder().fromEnvironment().optJoinTimeout(Duration.ofSeconds(60))
                .optFailureTimeout(ServerTests.FAILURE_TIMEOUT).build()) {
            RpcGroup g = world.createRpcGroup("g", world.members());
            OrderedServer s = args[0].equals("none") ? null : orderedServer(g, args);
            System.out.println("READY " + world.name());
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null && !line.equals("exit"); ) {
                String[] c = line.split(" ");
                Thread.ofVirtual().start(() -> System.out.println(outcome(g, s, c)));
            }
            if (s != null) {
                s.close();
            }
            GRAD.values().forEach(PushPullGradServer::close);
            MODELS.values().forEach(Servers.ModelServers::close);
        }
        System.exit(0);
    }

    static OrderedServer orderedServer(RpcGroup g, String[] args) {
        OrderedServer.Builder b = OrderedServer.builder().setName("s").setGroup(g).optVersionDepth(
                Integer.parseInt(args[2])).optTimeout(Duration.ofSeconds(20));
        if (args[0].equals("hosted")) {
            return b.optHost(args[1]).build();
        }
        return b.optReplicated(true).optReplicas(List.of(args[1].split(","))).optRaftLogDir(Path.of(args[3]))
                .build();
    }

    private static final java.util.Map<String, Servers.ModelServers> MODELS = new java.util.concurrent
            .ConcurrentHashMap<>();
    private static final java.util.Map<String, PushPullGradServer> GRAD = new java.util.concurrent.ConcurrentHashMap<>();

    private static String outcome(RpcGroup g, OrderedServer s, String[] c) {
        try {
            return switch (c[0]) {
                case "send-big" -> {
                    // send-big TO: calls Functions.awaitRelease in TO with a 64 MB array (the test kills this member)
                    try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
                        System.out.println("SENDING");
                        yield "SEND-BIG " + g.rpcSync(c[1], dev.tessera.distributed.Functions::awaitRelease,
                                m.ones(new ai.djl.ndarray.types.Shape(16L << 20)));
                    }
                }
                case "grad" -> {
                    // grad NAME SUM|MEAN BATCH DELAY_MS STALENESS REDUCER,REDUCER,...: a reducer or client, not primary
                    GRAD.put(c[1], PushPullGradServer.builder().setName(c[1]).setGroup(g).setModel(Models.linear(
                            World.current().manager())).optReduceMethod(PushPullGradServer.ReduceMethod.valueOf(c[2]))
                            .optReduceBatchSize(Integer.parseInt(c[3])).optMaxDelay(Duration.ofMillis(Long.parseLong(
                            c[4]))).optMaxStaleness(Long.parseLong(c[5])).optReducers(List.of(c[6].split(",")))
                            .build());
                    yield "GRAD " + c[1] + " READY";
                }
                case "models" -> {
                    MODELS.put("m", Servers.modelServers(g, List.of(c[1].split(","))));
                    yield "MODELS READY";
                }
                case "mpull" -> {
                    ai.djl.nn.Block b = Models.linear(World.current().manager());
                    PushPullModelServer m = MODELS.get("m").get(c[1]);
                    m.pull(b);
                    yield "MPULL " + m.version(b) + " " + java.util.Arrays.toString(Models.flat(b));
                }
                case "grads" -> {
                    GRAD.putAll(Servers.gradServers(g, java.util.Map.of(c[1], Models.linear(World.current()
                            .manager())), n -> { throw new AssertionError("worker-0 is the primary"); }));
                    yield "GRADS READY";
                }
                case "gpush" -> {
                    ai.djl.nn.Block b = Models.linear(World.current().manager());
                    GRAD.get(c[1]).pull(b);
                    Models.setGradients(b, Float.parseFloat(c[2]));
                    GRAD.get(c[1]).push(b);
                    yield "GPUSH " + GRAD.get(c[1]).version(b);
                }
                case "push" -> "PUSH " + s.push(c[1], c[2], Long.parseLong(c[3]), Long.parseLong(c[4]));
                case "pull" -> "PULL " + (c.length > 2 ? s.pull(c[1], Long.parseLong(c[2])) : s.pull(c[1]));
                case "leader" -> "LEADER " + s.leader();
                default -> throw new IllegalArgumentException("unknown command " + c[0]);
            };
        } catch (MemberLostException e) {
            return c[0].toUpperCase() + " LOST " + e.member();
        } catch (RuntimeException e) {
            return c[0].toUpperCase() + " ERR " + e;
        }
    }
}
