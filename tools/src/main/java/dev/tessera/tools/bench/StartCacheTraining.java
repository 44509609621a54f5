package dev.tessera.tools.bench;

import dev.tessera.tools.assign.AssignCli;
import dev.tessera.tools.assign.GraphJson;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Not thread-safe; a program for one JVM. The workload that trains the launcher's JDK 25 ahead-of-time cache
 * ({@code -XX:AOTCacheOutput}): {@code ./tessera demo} on the bundled graphs (the refined search of real graphs, DJL's
 * engine and the gradient phase), then {@code ./tessera assign} of {@code bench cli}'s 1000×16 synthetic graph (the
 * multilevel path: coarsening, the search beside the gradient phase on its own thread, refinement). Classes they load
 * are stored parsed and linked, with the method profiles of the training run, so that a cold {@code assign} of a
 * large graph neither loads those classes again nor waits as long for the JIT. Exits 1 when either run fails.
 *
 * <p>Usage: {@code StartCacheTraining GRAPHS_DIR PICTURES_DIR}.
 */
public final class StartCacheTraining {
    private StartCacheTraining() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            throw new IllegalArgumentException("usage: StartCacheTraining GRAPHS_DIR PICTURES_DIR (got "
                    + args.length + " arguments)");
        }
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        int demo = AssignCli.run(quiet, System.err, "demo", args[0], "--pictures", args[1]);
        Path graph = Files.createTempFile("tessera-training-1000x16", ".json");
        int assign;
        try {
            Files.writeString(graph, GraphJson.write(SyntheticGraphs.layers(1000, 16, 42)));
            assign = AssignCli.run(quiet, System.err, "assign", graph.toString(), "--format", "json");
        } catch (UncheckedIOException e) {
            throw e.getCause();
        } finally {
            Files.deleteIfExists(graph);
        }
        System.exit(demo == 0 && assign == 0 ? 0 : 1);
    }
}
