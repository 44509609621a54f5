/**
 * The pool benchmark core ({@link dev.tessera.pool.bench.PoolBenchmark}), run by
 * {@code ./tessera bench pool}: medians of several runs after warm-up, with a plain
 * {@code ExecutorService} measured in the same run as the baseline.
 */
package dev.tessera.pool.bench;
