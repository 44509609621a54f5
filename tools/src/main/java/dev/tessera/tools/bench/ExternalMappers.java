package dev.tessera.tools.bench;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Stateless; each call owns the temporary folder it writes and deletes it. The classic mappers as baselines for
 * {@code ./tessera bench assign}: METIS ({@code gpmetis -objtype=cut}) and Scotch's static mapper ({@code gmap}, named
 * {@code scotch_gmap} by Debian), each run as a process when found on the PATH. The graph goes over in METIS format
 * (undirected: the volumes of both directions between two models summed; vertex weight = size, which is the
 * complexity the objective balances). METIS gets target part weights equal to the devices' power shares (what the
 * objective's complexity-match term asks for) and Scotch a weighted complete-graph target ({@code cmpltw}) with the
 * same weights; part d is device d. Neither knows the memory limits or the CPU's distance of 10: the caller scores
 * their answers with Tessera's objective and limits.
 */
final class ExternalMappers {
    /** A mapper's placement (a device per model) and its wall time, process start included. */
    record Answer(String name, int[] placement, double seconds) {}

    private static final long TIMEOUT_S = 600;

    private ExternalMappers() {}

    /** The program's path if an executable of one of these names is on the PATH, else null. */
    static Path onPath(String... names) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            for (String name : names) {
                Path p = Path.of(dir.isEmpty() ? "." : dir, name);
                if (Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    /** gpmetis's answer, or null when gpmetis is not on the PATH. */
    static Answer metis(SyntheticGraph g) {
        Path gpmetis = onPath("gpmetis");
        if (gpmetis == null) {
            return null;
        }
        return inTempDir(dir -> {
            Path graph = writeMetisGraph(g, dir.resolve("graph.metis"));
            Path weights = dir.resolve("tpwgts");
            double[] share = shares(g.power());
            StringBuilder w = new StringBuilder();
            for (int d = 0; d < share.length; d++) {
                w.append(String.format(Locale.ROOT, "%d = %.6f%n", d, share[d]));
            }
            Files.writeString(weights, w.toString());
            long start = System.nanoTime();
            run(dir, gpmetis.toString(), "-objtype=cut", "-tpwgts=" + weights, graph.toString(),
                    Integer.toString(g.m()));
            double seconds = (System.nanoTime() - start) / 1e9;
            List<String> lines = Files.readAllLines(dir.resolve("graph.metis.part." + g.m()));
            int[] a = new int[g.n()];
            for (int i = 0; i < a.length; i++) {
                a[i] = Integer.parseInt(lines.get(i).trim());
            }
            return new Answer("metis-cut", a, seconds);
        });
    }

    /** Scotch's static mapping onto a weighted complete graph, or null when gmap / scotch_gmap is not on the PATH. */
    static Answer scotch(SyntheticGraph g) {
        Path gmap = onPath("gmap", "scotch_gmap");
        Path gcv = onPath("gcv", "scotch_gcv");
        if (gmap == null || gcv == null) {
            return null;
        }
        return inTempDir(dir -> {
            Path metis = writeMetisGraph(g, dir.resolve("graph.metis"));
            Path grf = dir.resolve("graph.grf");
            Path target = dir.resolve("target.tgt");
            Path map = dir.resolve("graph.map");
            double[] share = shares(g.power());
            StringBuilder t = new StringBuilder("cmpltw " + g.m());
            for (double s : share) {
                t.append(' ').append(Math.max(1, Math.round(s * 10_000)));
            }
            Files.writeString(target, t.append('\n').toString());
            long start = System.nanoTime();
            run(dir, gcv.toString(), "-ic", "-os", metis.toString(), grf.toString());
            run(dir, gmap.toString(), grf.toString(), target.toString(), map.toString());
            double seconds = (System.nanoTime() - start) / 1e9;
            return new Answer("scotch-map", readMapping(map, g.n()), seconds);
        });
    }

    /**
     * A Scotch mapping file: the count, then "label part" lines. Labels keep the graph's base, which is 1 for a graph
     * converted from METIS/Chaco format, so the smallest label is taken as the base.
     */
    private static int[] readMapping(Path map, int n) throws IOException {
        List<String> lines = Files.readAllLines(map);
        int[][] pairs = new int[lines.size() - 1][];
        int base = Integer.MAX_VALUE;
        for (int k = 1; k < lines.size(); k++) {
            String[] f = lines.get(k).trim().split("\\s+");
            pairs[k - 1] = new int[] {Integer.parseInt(f[0]), Integer.parseInt(f[1])};
            base = Math.min(base, pairs[k - 1][0]);
        }
        if (pairs.length != n) {
            throw new IllegalStateException("Scotch mapped " + pairs.length + " of " + n + " models (" + map + ")");
        }
        int[] a = new int[n];
        for (int[] pair : pairs) {
            a[pair[0] - base] = pair[1];
        }
        return a;
    }

    /** METIS format, 1-based, vertex and edge weights ("fmt" 011); a model's neighbours listed in ascending order. */
    private static Path writeMetisGraph(SyntheticGraph g, Path file) throws IOException {
        int n = g.n();
        List<TreeMap<Integer, Long>> adj = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            adj.add(new TreeMap<>());
        }
        for (int e = 0; e < g.from().length; e++) {
            int f = g.from()[e];
            int t = g.to()[e];
            if (f != t) {
                long v = Math.round(g.volume()[e]);
                adj.get(f).merge(t, v, Long::sum);
                adj.get(t).merge(f, v, Long::sum);
            }
        }
        long undirected = adj.stream().mapToLong(TreeMap::size).sum() / 2;
        StringBuilder out = new StringBuilder();
        out.append(n).append(' ').append(undirected).append(" 011\n");
        for (int i = 0; i < n; i++) {
            out.append(Math.round(g.sizes()[i]));
            for (var nb : adj.get(i).entrySet()) {
                out.append(' ').append(nb.getKey() + 1).append(' ').append(nb.getValue());
            }
            out.append('\n');
        }
        Files.writeString(file, out.toString(), StandardCharsets.US_ASCII);
        return file;
    }

    private static double[] shares(double[] power) {
        double total = 0;
        for (double p : power) {
            total += p;
        }
        double[] s = new double[power.length];
        for (int d = 0; d < s.length; d++) {
            s[d] = power[d] / total;
        }
        return s;
    }

    /** Runs a command in dir, its output discarded into a log there; throws with that log when it fails. */
    private static void run(Path dir, String... command) throws IOException {
        Path log = dir.resolve("log.txt");
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        try {
            if (!p.waitFor(TIMEOUT_S, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                throw new IllegalStateException(
                        command[0] + " ran past " + TIMEOUT_S + " s; skip it by taking it off the PATH");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + command[0], e);
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " exited with " + p.exitValue() + ": "
                    + Files.readString(log).strip());
        }
    }

    @FunctionalInterface
    private interface InDir<T> {
        T apply(Path dir) throws IOException;
    }

    private static <T> T inTempDir(InDir<T> body) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("tessera-bench-");
            return body.apply(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("external mapper failed in " + dir + ": " + e.getMessage(), e);
        } finally {
            deleteQuietly(dir);
        }
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // a leftover temp folder is harmless; the answer stands
        }
    }
}
