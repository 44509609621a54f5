/**
 * The benchmarks behind {@code ./tessera bench share|pool|queue|assign|dist|server|cli}: {@link
 * dev.tessera.tools.bench.BenchMain} dispatches to each one. Every benchmark prints the machine it ran on and its
 * figures, as a table or, with {@code --format json}, one JSON object per line; peers (PyTorch, joblib, gloo) are
 * measured in the same run by the scripts named in the README.
 *
 * <p>The command line behaves the same way for each: {@code --help} prints what the benchmark measures, its options
 * with their defaults and its JSON line (each benchmark's {@code HELP}); each benchmark's {@code parse} checks every
 * argument with {@code BenchArgs} before anything is measured, and a {@code BenchUsageException} becomes one
 * {@code tessera: bad input: ...} line and exit code 2; any other failure is one line and exit code 1, with the stack
 * trace only under {@code --debug}. Figures go to stdout and progress ({@code BenchProgress}) to stderr, so a run of
 * minutes is never silent and {@code --format json} output stays clean.
 */
package dev.tessera.tools.bench;
