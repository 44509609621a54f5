/**
 * The benchmarks behind {@code ./tessera bench share|pool|queue|assign}: {@link dev.tessera.tools.bench.BenchMain}
 * dispatches to each one. Every benchmark prints the machine it ran on and its figures, as a table or, with
 * {@code --format json}, one JSON object per line; peers (PyTorch, joblib) are measured in the same run by the
 * scripts named in the README.
 */
package dev.tessera.tools.bench;
