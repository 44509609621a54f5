package dev.tessera.tools.shm;

import dev.tessera.sharedmem.SegmentInfo;
import dev.tessera.sharedmem.SegmentReaper;
import dev.tessera.sharedmem.SharedSegment;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./tessera shm ls|gc}: lists live segments, or removes those whose processes are all dead. Exit code
 * 0 on success, 2 on bad usage (picocli's convention), 1 on a runtime failure.
 */
@Command(name = "shm", mixinStandardHelpOptions = true, description = "Inspect and clean Tessera shared-memory segments.",
        subcommands = {ShmCli.Ls.class, ShmCli.Gc.class})
public final class ShmCli implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs the command with the given streams and returns its exit code (for tests and embedding). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new ShmCli());
        cli.setOut(out);
        cli.setErr(err);
        return cli.execute(args);
    }

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: ls or gc");
    }

    static final class DirectoryOption {
        @Option(names = {"-d", "--dir"}, paramLabel = "DIR",
                description = "Segment directory (default: -Dtessera.shm.dir, else /dev/shm, else a temp dir).")
        Path dir;

        Path resolve() {
            return dir != null ? dir.toAbsolutePath() : SharedSegment.defaultDirectory();
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List segments with size, owner and age.")
    static final class Ls implements Callable<Integer> {
        @CommandLine.Mixin
        DirectoryOption directory;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Path dir = directory.resolve();
            List<SegmentInfo> segments = SegmentReaper.list(dir);
            PrintWriter out = spec.commandLine().getOut();
            out.printf("%d segment(s) in %s%n", segments.size(), dir);
            if (!segments.isEmpty()) {
                out.printf("%-40s %14s %8s %-6s %10s %5s  %s%n", "NAME", "BYTES", "OWNER", "ALIVE", "AGE", "REFS",
                        "STATE / ATTACHED");
            }
            segments.forEach(s -> out.println(row(s)));
            List<String> refused = SegmentReaper.untrusted(dir);
            if (!refused.isEmpty()) {
                out.printf("%d file(s) not listed: another user's, or with group/other permission bits (see "
                        + "-Dtessera.shm.trustedOwners, -Dtessera.shm.allowSharedModes)%n", refused.size());
                refused.forEach(r -> out.println("  " + r));
            }
            return 0;
        }
    }

    @Command(name = "gc", mixinStandardHelpOptions = true,
            description = "Remove segments whose owner and attached processes are all dead.")
    static final class Gc implements Callable<Integer> {
        @CommandLine.Mixin
        DirectoryOption directory;
        @Option(names = "--grace-seconds", paramLabel = "S", defaultValue = "60",
                description = "Leave unpublished (half-created) files younger than this alone (default: ${DEFAULT-VALUE}).")
        long graceSeconds;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            if (graceSeconds < 0) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--grace-seconds=" + graceSeconds + " (expected >= 0)");
            }
            Path dir = directory.resolve();
            List<SegmentInfo> removed = SegmentReaper.reap(dir, Duration.ofSeconds(graceSeconds));
            PrintWriter out = spec.commandLine().getOut();
            removed.forEach(s -> out.println("removed " + row(s)));
            out.printf("removed %d segment(s) from %s%n", removed.size(), dir);
            return 0;
        }
    }

    static String row(SegmentInfo s) {
        String what = switch (s.kind()) {
            case STORE -> "store '" + s.store() + "', ";
            case STORE_VALUE -> "value of store '" + s.store() + "'" + (s.heldByStore() ? "" : " (no longer held)")
                    + ", ";
            case NAMED -> "named '" + s.store() + "', ";
            case SEGMENT -> "";
        };
        String state = !s.published() ? what + "unpublished"
                : s.orphaned() ? what + "orphaned (gc removes it)"
                : what + (s.persistent() ? "persistent, " : "") + "attached " + s.attachedPids();
        return String.format("%-40s %14d %8d %-6s %10s %5d  %s", s.name(), s.sizeBytes(), s.ownerPid(),
                s.ownerAlive() ? "yes" : "no", age(s.ageMillis()), s.refCount(), state);
    }

    private static String age(long millis) {
        Duration d = Duration.ofMillis(Math.max(0, millis));
        return d.toHours() > 0 ? d.toHours() + "h" + d.toMinutesPart() + "m"
                : d.toMinutes() > 0 ? d.toMinutes() + "m" + d.toSecondsPart() + "s"
                : d.toSeconds() + "." + d.toMillisPart() / 100 + "s";
    }
}
