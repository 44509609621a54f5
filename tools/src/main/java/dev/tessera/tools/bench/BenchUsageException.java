package dev.tessera.tools.bench;

/**
 * A benchmark's command line is wrong: an unknown argument, a missing value, or a value out of range. Immutable;
 * {@link BenchMain} turns it into one {@code tessera: bad input: ...} line and exit code 2, where any other exception
 * is the benchmark failing (exit code 1). The message names the argument and what was expected, such as
 * {@code --runs 0 (expected a whole number > 0)}.
 */
final class BenchUsageException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    BenchUsageException(String message) {
        super(message);
    }
}
