/**
 * The benchmark core behind {@code ./tessera bench share}: a stub handoff, a codec copy and an in-process
 * memcpy of the same sizes, measured against a real worker JVM over a Unix domain socket, median of several
 * runs after a warm-up. It lives in this module so that the {@code benchmarks} module only dispatches to it.
 */
package dev.tessera.sharedmem.bench;
