package dev.tessera.distributed.launch;

import dev.tessera.distributed.World;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * {@code ./tessera launch}: torchrun for the JVM. Starts {@code --nproc} JVMs running {@code CLASS} on this JVM's
 * classpath, each with its rank, the world size and the coordinator in its environment (the variables
 * {@link World#fromEnvironment()} reads), prefixes their output with {@code [rank]}, and when one exits non-zero
 * stops the others and exits with its code. Not thread-safe; one launch per instance. It owns the child processes
 * and never leaves one behind: they are stopped when one fails, when the launcher is interrupted, and when its JVM
 * shuts down.
 *
 * <pre>
 * ./tessera launch --nproc N [--nnodes K --node-rank R] [--coordinator host:port] [--classpath PATH] CLASS [ARGS...]
 * </pre>
 * On one node the coordinator defaults to a free loopback port; with {@code --nnodes > 1} it is required, and node
 * {@code R} runs ranks {@code R*N .. R*N+N-1} of {@code K*N}. {@code --classpath} (or {@code -cp}) adds the user's
 * classes and jars after the launcher's own; before starting anything the launcher checks that {@code CLASS} is on
 * the resulting class path, so a missing one is one clear line and exit code 2 rather than N JVMs failing.
 */
public final class Launcher {
    /** How long the others get to exit after SIGTERM before SIGKILL. */
    static final long GRACE_MILLIS = 5_000;
    private static final String USAGE = "usage: ./tessera launch --nproc N [--nnodes K --node-rank R] "
            + "[--coordinator host:port] [--classpath PATH] CLASS [ARGS...]";

    private static final String HELP = """
              --nproc N             processes on this node (required)
              --nnodes K            nodes in the world (default 1); the world size is N * K
              --node-rank R         this node's index, 0 to K-1 (default 0)
              --coordinator H:P     where rank 0 listens (required with --nnodes > 1; default a free loopback port)
              --classpath PATH      your classes and jars (directories, jars, dir/* as java's -cp), added after
                                    Tessera's own; -cp is the same
            Each process gets TESSERA_RANK, TESSERA_WORLD_SIZE, TESSERA_COORDINATOR and TESSERA_NAME in its
            environment (World.fromEnvironment() reads them); its output is prefixed with [rank]. When one exits
            non-zero, the others are stopped (SIGTERM, SIGKILL after 5 s), every rank's exit code is listed, and the
            launcher exits with the first one; 2 means a malformed command line or CLASS not on the class path.""";

    private final PrintStream out;
    private final PrintStream err;
    private final List<Process> children = new ArrayList<>();
    private final List<Thread> pumps = new ArrayList<>();

    /**
     * A launcher that writes the children's prefixed output to {@code out} and {@code err}.
     *
     * @param out where the children's stdout goes
     * @param err where their stderr and the launcher's own messages go
     */
    public Launcher(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /**
     * Runs the launcher and exits with its status.
     *
     * @param args the command line (see the class comment)
     */
    public static void main(String[] args) {
        System.exit(new Launcher(System.out, System.err).run(args));
    }

    /** The parsed command line. */
    record Options(int nproc, int nnodes, int nodeRank, String coordinator, String userClassPath, String mainClass,
            List<String> args) {
        int worldSize() {
            return nproc * nnodes;
        }

        static Options parse(String[] argv) {
            int nproc = -1;
            int nnodes = 1;
            int nodeRank = 0;
            String coordinator = null;
            String classPath = "";
            int i = 0;
            for (; i < argv.length && argv[i].startsWith("-"); i += 2) {
                if (i + 1 >= argv.length) {
                    throw new IllegalArgumentException(argv[i] + " needs a value; " + USAGE);
                }
                switch (argv[i]) {
                    case "--nproc" -> nproc = atLeast("--nproc", argv[i + 1], 1);
                    case "--nnodes" -> nnodes = atLeast("--nnodes", argv[i + 1], 1);
                    case "--node-rank" -> nodeRank = atLeast("--node-rank", argv[i + 1], 0);
                    case "--coordinator" -> coordinator = argv[i + 1];
                    case "--classpath", "-cp" -> classPath = classPath.isEmpty() ? argv[i + 1]
                            : classPath + File.pathSeparator + argv[i + 1];
                    default -> throw new IllegalArgumentException("unknown option " + argv[i] + "; " + USAGE);
                }
            }
            if (nproc < 0 || i >= argv.length) {
                throw new IllegalArgumentException((nproc < 0 ? "--nproc is required" : "CLASS is required") + "; "
                        + USAGE);
            }
            if (nodeRank >= nnodes) {
                throw new IllegalArgumentException("--node-rank=" + nodeRank + " (expected < --nnodes=" + nnodes + ")");
            }
            if (nnodes > 1 && coordinator == null) {
                throw new IllegalArgumentException("--coordinator host:port is required with --nnodes=" + nnodes
                        + " (the address of node 0, where rank 0 listens)");
            }
            return new Options(nproc, nnodes, nodeRank, coordinator, classPath, argv[i],
                    List.of(argv).subList(i + 1, argv.length));
        }

        private static int atLeast(String option, String value, int min) {
            try {
                int v = Integer.parseInt(value);
                if (v >= min) {
                    return v;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalArgumentException(option + "=" + value + " (expected an integer >= " + min + ")");
        }
    }

    /**
     * Launches, waits, and returns the exit status: 0 if every child exited 0, else the first non-zero code (the
     * others are then stopped), or 2 for a malformed command line.
     *
     * @param argv the command line
     * @return the status
     */
    public int run(String[] argv) {
        if (argv.length == 0 || argv[0].equals("--help") || argv[0].equals("-h")) {
            (argv.length == 0 ? err : out).println(USAGE + System.lineSeparator() + HELP);
            return argv.length == 0 ? 2 : 0;
        }
        Options o;
        try {
            o = Options.parse(argv);
            checkMainClass(o);
        } catch (IllegalArgumentException e) {
            err.println("tessera launch: " + e.getMessage());
            return 2;
        }
        Thread hook = Thread.ofPlatform().unstarted(this::stopAll);
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return launch(o);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("tessera launch: interrupted; stopping the children");
            return 130;
        } finally {
            stopAll();
            drainOutput();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or ran: the children are stopped either way
            }
        }
    }

    private int launch(Options o) throws InterruptedException {
        String coordinator = o.coordinator() != null ? o.coordinator() : "127.0.0.1:" + freePort();
        LinkedBlockingQueue<int[]> exits = new LinkedBlockingQueue<>();
        for (int local = 0; local < o.nproc(); local++) {
            int rank = o.nodeRank() * o.nproc() + local;
            Process p = start(o, rank, coordinator);
            children.add(p);
            pumps.add(pump(p.getInputStream(), out, rank));
            pumps.add(pump(p.getErrorStream(), err, rank));
            p.onExit().thenAccept(done -> exits.add(new int[] {rank, done.exitValue()}));
        }
        for (int running = o.nproc(); running > 0; running--) {
            int[] exit = exits.take();
            if (exit[1] != 0) {
                err.println("tessera launch: rank " + exit[0] + " exited with " + exit[1] + "; stopping the others");
                stopAll();
                err.println("tessera launch: exit codes: " + exitCodes(o));
                return exit[1];
            }
        }
        return 0;
    }

    /**
     * Every stopped child's exit code by rank: the first failure is not always the cause (a rank that throws out of
     * its try-with-resources leaves the World before its JVM exits, so a peer that fails on the loss can exit first).
     */
    private String exitCodes(Options o) {
        List<String> codes = new ArrayList<>();
        for (int local = 0; local < children.size(); local++) {
            Process p = children.get(local);
            String code = p.isAlive() ? "running" : Integer.toString(p.exitValue());
            codes.add("rank " + (o.nodeRank() * o.nproc() + local) + " " + code + switch (code) {
                case "143" -> " (SIGTERM)";
                case "137" -> " (SIGKILL)";
                default -> "";
            });
        }
        return String.join(", ", codes);
    }

    private Process start(Options o, int rank, String coordinator) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", childClassPath(o)));
        cmd.addAll(forwardedJvmOptions());
        cmd.add(o.mainClass());
        cmd.addAll(o.args());
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put(World.ENV_RANK, Integer.toString(rank));
        pb.environment().put(World.ENV_WORLD_SIZE, Integer.toString(o.worldSize()));
        pb.environment().put(World.ENV_COORDINATOR, coordinator);
        pb.environment().put(World.ENV_NAME, "worker-" + rank);
        try {
            return pb.start();
        } catch (IOException e) {
            stopAll();
            throw new UncheckedIOException("cannot start rank " + rank + " (" + String.join(" ", cmd) + ")", e);
        }
    }

    /** The launcher's class path, then the user's {@code --classpath}. */
    static String childClassPath(Options o) {
        String own = System.getProperty("java.class.path");
        return o.userClassPath().isEmpty() ? own : own + File.pathSeparator + o.userClassPath();
    }

    /**
     * Fails, naming the class and the way to fix it, unless {@code o.mainClass()}'s class file is in a directory or
     * jar of the ranks' class path (a {@code dir/*} entry stands for its jars, as for {@code java -cp}) or in the JDK.
     */
    static void checkMainClass(Options o) {
        List<URL> urls = new ArrayList<>();
        for (String entry : childClassPath(o).split(File.pathSeparator)) {
            if (!entry.isEmpty()) {
                urls.addAll(entryUrls(entry));
            }
        }
        try (URLClassLoader loader = new URLClassLoader(urls.toArray(URL[]::new),
                ClassLoader.getPlatformClassLoader())) {
            if (loader.getResource(o.mainClass().replace('.', '/') + ".class") == null) {
                throw new IllegalArgumentException("class " + o.mainClass() + " is not on the ranks' class path ("
                        + "Tessera's jars" + (o.userClassPath().isEmpty() ? ", and no --classpath was given"
                        : " plus --classpath " + o.userClassPath()) + "); pass the directory or jar of your classes "
                        + "with --classpath PATH before CLASS");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the class path " + childClassPath(o), e);
        }
    }

    private static List<URL> entryUrls(String entry) {
        try {
            if (entry.endsWith("*")) {
                Path dir = Path.of(entry.substring(0, entry.length() - 1));
                if (!Files.isDirectory(dir)) {
                    return List.of();
                }
                try (var jars = Files.list(dir)) {
                    List<URL> out = new ArrayList<>();
                    for (Path jar : jars.filter(p -> p.toString().endsWith(".jar")).toList()) {
                        out.add(jar.toUri().toURL());
                    }
                    return out;
                }
            }
            return List.of(Path.of(entry).toAbsolutePath().toUri().toURL());
        } catch (IOException | java.nio.file.InvalidPathException e) {
            return List.of(); // java skips such an entry too
        }
    }

    /** The launcher's own system properties and native-access flag that the children need the same way. */
    private static List<String> forwardedJvmOptions() {
        List<String> opts = new ArrayList<>();
        for (String arg : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("-D") || arg.startsWith("--enable-native-access") || arg.startsWith("-Xmx")) {
                opts.add(arg);
            }
        }
        return opts;
    }

    /** Copies a child's stream line by line, each prefixed with {@code [rank]}. */
    private static Thread pump(InputStream in, PrintStream to, int rank) {
        return Thread.ofPlatform().daemon().name("launch-pump-" + rank).start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    to.println("[" + rank + "] " + line);
                }
            } catch (IOException closed) {
                // the child is gone
            }
        });
    }

    /** Waits (bounded) until the children's last lines are copied: their pipes end when they exit. */
    private void drainOutput() {
        for (Thread t : pumps) {
            try {
                t.join(GRACE_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** SIGTERM to every live child, then SIGKILL to those still alive after the grace period; waits for them. */
    private synchronized void stopAll() {
        for (Process p : children) {
            p.destroy();
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(GRACE_MILLIS);
        for (Process p : children) {
            try {
                if (!p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(GRACE_MILLIS, TimeUnit.MILLISECONDS);
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free loopback port for the coordinator; pass --coordinator", e);
        }
    }
}
