/**
 * The placement CLI behind {@code ./tessera assign} and {@code ./tessera demo}: strict graph JSON reading with
 * errors that name the file and field, the PipeDream {@code graph.txt} importer, and table and JSON output.
 *
 * <p>Every input is bounded ({@code InputFiles}: file size, nesting, string, number and name length, token
 * count, numeric magnitude) so that no file or option can crash the CLI: each problem is one line naming the file
 * and the field, line, option or limit, with exit code 2. Stack traces appear only with {@code --debug}.
 */
package dev.tessera.tools.assign;
