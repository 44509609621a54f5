package dev.tessera.tools.bench;

import java.util.Arrays;
import java.util.List;

/**
 * One benchmark's command line, read left to right. Not thread-safe; holds only the argument array. Every complaint
 * is a {@link BenchUsageException} whose message names the argument and what was expected, so that each benchmark's
 * parser stays a plain {@code switch} over {@link #next()}.
 */
final class BenchArgs {
    private final String[] args;
    private final String expected;
    private int next;

    /**
     * @param expected the benchmark's options in one phrase, for the message about an unknown argument (for example
     *     {@code "--format table|json or --runs N"})
     */
    BenchArgs(String[] args, String expected) {
        this.args = args.clone();
        this.expected = expected;
    }

    boolean hasNext() {
        return next < args.length;
    }

    String next() {
        return args[next++];
    }

    /** The value after {@code option}; an option in its place (a word starting with {@code --}) is no value. */
    String value(String option) {
        return value(option, null);
    }

    private String value(String option, String expected) {
        if (next >= args.length || args[next].startsWith("--")) {
            String got = next < args.length ? "got the option " + args[next] : null;
            String detail = expected == null ? got : got == null ? "expected " + expected : got + "; expected " + expected;
            throw new BenchUsageException(option + " needs a value" + (detail == null ? "" : " (" + detail + ")"));
        }
        return args[next++];
    }

    /** The value after {@code option}, which must be one of {@code allowed}. */
    String choice(String option, String... allowed) {
        String v = value(option, or(List.of(allowed)));
        if (!Arrays.asList(allowed).contains(v)) {
            throw new BenchUsageException(option + " " + v + " (expected " + or(List.of(allowed)) + ")");
        }
        return v;
    }

    /** {@code --format table|json}: whether it is JSON. */
    boolean json() {
        return choice("--format", "table", "json").equals("json");
    }

    /** The whole number after {@code option}, at least {@code min}. */
    int intAtLeast(String option, int min) {
        return intAtLeast(option, value(option), min);
    }

    /** {@code text}, the value of {@code option} (or one item of it), as a whole number of at least {@code min}. */
    static int intAtLeast(String option, String text, int min) {
        try {
            int v = Integer.parseInt(text.strip());
            if (v >= min) {
                return v;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new BenchUsageException(option + " " + text + " (expected a whole number " + (min == 1 ? "> 0"
                : ">= " + min) + ")");
    }

    /** The argument just read is not one of the benchmark's. */
    BenchUsageException unknown(String arg) {
        return new BenchUsageException("unknown argument '" + arg + "' (expected " + expected + ")");
    }

    /** "a, b or c". */
    static String or(List<String> words) {
        return words.size() == 1 ? words.getFirst()
                : String.join(", ", words.subList(0, words.size() - 1)) + " or " + words.getLast();
    }
}
