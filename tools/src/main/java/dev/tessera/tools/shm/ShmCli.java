package dev.tessera.tools.shm;

import dev.tessera.sharedmem.SegmentInfo;
import dev.tessera.sharedmem.SegmentReaper;
import dev.tessera.sharedmem.SharedSegment;
import dev.tessera.tools.internal.CliMessages;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./tessera shm ls|gc}: lists live segments, or removes those whose processes are all dead. Not thread-safe
 * (one instance per run); holds nothing after {@link #run} returns. Exit codes: 0 success; 2 bad input (one
 * {@code tessera: bad input: ...} line naming the argument, and a pointer to {@code --help}); 1 a failure while
 * listing or removing (one line; {@code --debug} adds the stack trace).
 */
@Command(name = "./tessera shm", description = "Inspect and clean Tessera shared-memory segments.",
        subcommands = {ShmCli.Ls.class, ShmCli.Gc.class}, footer = ShmCli.FOOTER)
public final class ShmCli implements Callable<Integer> {
    static final int EXIT_FAILED = 1;
    static final int EXIT_BAD_INPUT = 2;
    static final String FOOTER = "%nExit codes: 0 done; 1 a failure while listing or removing (one line on stderr; "
            + "--debug adds the stack trace); 2 bad arguments (one line on stderr).";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    public static void main(String[] args) {
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs the command with the given streams and returns its exit code (for tests and embedding). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new ShmCli());
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler((ex, ignored) -> badInput(ex));
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> failed(cmd, ex));
        return cli.execute(args);
    }

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command (expected ls or gc)");
    }

    /** picocli's errors and ours about arguments: one line, exit 2. */
    private static int badInput(CommandLine.ParameterException ex) {
        CommandLine cmd = ex.getCommandLine();
        String what = ex instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()
                ? unmatched(cmd, u.getUnmatched().getFirst()) : ex.getMessage();
        PrintWriter err = cmd.getErr();
        err.println("tessera: bad input: " + CliMessages.oneLine(what) + " (see " + cmd.getCommandSpec().qualifiedName()
                + " --help)");
        if (debug(cmd)) {
            ex.printStackTrace(err);
        }
        err.flush();
        return EXIT_BAD_INPUT;
    }

    /** What is wrong with an argument picocli could not place. */
    private static String unmatched(CommandLine cmd, String arg) {
        if (arg.startsWith("-")) {
            return "unknown option '" + arg + "' (expected " + String.join(", ", cmd.getCommandSpec().options().stream()
                    .map(CommandLine.Model.OptionSpec::longestName).sorted().toList()) + ")";
        }
        return cmd.getSubcommands().isEmpty() ? "unexpected argument '" + arg + "' (expected only options)"
                : "unknown command '" + arg + "' (expected ls or gc)";
    }

    /** A failure while listing or removing: one line, exit 1. */
    private static int failed(CommandLine cmd, Exception ex) {
        boolean debug = debug(cmd);
        PrintWriter err = cmd.getErr();
        err.println("tessera: " + cmd.getCommandSpec().qualifiedName().replaceFirst("^\\./tessera ", "") + " failed: "
                + CliMessages.failure(ex, ex.getMessage(), debug));
        if (debug) {
            ex.printStackTrace(err);
        }
        err.flush();
        return EXIT_FAILED;
    }

    private static boolean debug(CommandLine cmd) {
        return cmd.getCommand() instanceof Sub s && s.common != null && s.common.debug;
    }


    /** {@code --help} and {@code --debug}, mixed into each sub-command. */
    static final class CommonOptions {
        @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
        boolean help;
        @Option(names = "--debug", description = "On a failure, also print the Java stack trace.")
        boolean debug;
    }

    /** A sub-command: its common options. */
    abstract static class Sub {
        @CommandLine.Mixin
        CommonOptions common;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
    }

    static final class DirectoryOption {
        @Option(names = {"-d", "--dir"}, paramLabel = "DIR",
                description = "Segment directory (default: -Dtessera.shm.dir, else /dev/shm, else a temp dir).")
        Path dir;

        /** The directory to read; a {@code --dir} that is not one is bad input. */
        Path resolve(CommandLine cmd) {
            if (dir == null) {
                return SharedSegment.defaultDirectory();
            }
            Path d = dir.toAbsolutePath();
            if (!Files.isDirectory(d)) {
                throw new CommandLine.ParameterException(cmd, "--dir " + dir + ": " + (Files.exists(d)
                        ? "not a directory" : "no such directory") + " (expected the directory of the segments, "
                        + "such as /dev/shm)");
            }
            return d;
        }
    }

    @Command(name = "ls", description = "List segments with size, owner, age and state.", footer = FOOTER)
    static final class Ls extends Sub implements Callable<Integer> {
        @CommandLine.Mixin
        DirectoryOption directory;

        @Override
        public Integer call() {
            Path dir = directory.resolve(spec.commandLine());
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

    @Command(name = "gc", description = "Remove segments whose owner and attached processes are all dead.",
            footer = FOOTER)
    static final class Gc extends Sub implements Callable<Integer> {
        @CommandLine.Mixin
        DirectoryOption directory;
        @Option(names = "--grace-seconds", paramLabel = "S", defaultValue = "60", converter = Seconds.class,
                description = "Leave unpublished (half-created) files younger than this alone (default: ${DEFAULT-VALUE}).")
        long graceSeconds;

        @Override
        public Integer call() {
            if (graceSeconds < 0) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--grace-seconds=" + graceSeconds + " (expected >= 0)");
            }
            Path dir = directory.resolve(spec.commandLine());
            List<SegmentInfo> removed = SegmentReaper.reap(dir, Duration.ofSeconds(graceSeconds));
            PrintWriter out = spec.commandLine().getOut();
            removed.forEach(s -> out.println("removed " + row(s)));
            out.printf("removed %d segment(s) from %s%n", removed.size(), dir);
            return 0;
        }
    }

    /** {@code --grace-seconds}: a whole number of seconds, in a message a user can act on. */
    static final class Seconds implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            try {
                return Long.parseLong(value.strip());
            } catch (NumberFormatException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a whole number of seconds "
                        + "(expected >= 0)");
            }
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
