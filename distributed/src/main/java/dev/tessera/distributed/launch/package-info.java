/**
 * The launcher behind {@code ./tessera launch}, torchrun for the JVM: it starts one JVM per rank with the World's
 * environment variables, prefixes their output with the rank, and stops them all when one fails. Not a library API
 * beyond its {@code main}; the World the children join is {@link dev.tessera.distributed.World#fromEnvironment()}.
 */
package dev.tessera.distributed.launch;
