/**
 * The placement CLI behind {@code ./tessera assign} and {@code ./tessera demo}: strict graph JSON reading with
 * errors that name the file and field, the PipeDream {@code graph.txt} importer, and table and JSON output.
 */
package dev.tessera.assigner.cli;
