package dev.tessera.distributed.internal.nccl;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Finds one native library for FFM, in a fixed order, and says where it looked when it fails. Immutable and
 * thread-safe; the library it opens stays loaded for the life of the process (the global arena).
 *
 * <p>Order: the system property, then the environment variable (each a file path), then the dynamic loader's own
 * search (LD_LIBRARY_PATH, the cache, and any copy already loaded in the process, such as the one PyTorch loaded,
 * matched by its soname), then the {@code nvidia/<package>/lib} folders of python3's site-packages, where pip's
 * {@code nvidia-nccl-cu13} and {@code nvidia-cuda-runtime} wheels put them. The site-packages folders are found from
 * the usual places first and only then by asking python3 itself (bounded by a few seconds), so a hit earlier in the
 * order costs nothing.
 *
 * @param what a human name for messages, e.g. "NCCL"
 * @param property the system property naming the library's path
 * @param env the environment variable naming the library's path
 * @param sonames the names to give the loader, most specific first
 * @param filePrefix the file name prefix to look for under site-packages' {@code nvidia/}, e.g. {@code libnccl.so}
 * @param pipHint the pip package that provides it, for messages
 */
@SuppressWarnings("restricted") // native access is this class's purpose; the launcher enables it
public record NativeLibrary(String what, String property, String env, List<String> sonames, String filePrefix,
        String pipHint) {
    /** NCCL: {@code libnccl.so.2}. */
    public static final NativeLibrary NCCL = new NativeLibrary("NCCL", "tessera.nccl.library", "TESSERA_NCCL_LIBRARY",
            List.of("libnccl.so.2", "libnccl.so"), "libnccl.so", "nvidia-nccl-cu13 (or -cu12)");
    /** The CUDA runtime: {@code libcudart.so.13} or an older major version. */
    public static final NativeLibrary CUDART = new NativeLibrary("the CUDA runtime", "tessera.cudart.library",
            "TESSERA_CUDART_LIBRARY", List.of("libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0",
                    "libcudart.so"), "libcudart.so", "nvidia-cuda-runtime (or nvidia-cuda-runtime-cu12)");

    /**
     * Opens the library, searching in the documented order.
     *
     * @return its symbols
     * @throws IllegalStateException naming every setting and place tried, when it is nowhere
     */
    public SymbolLookup open() {
        return open(System.getProperty(property), System.getenv(env), NativeLibrary::pythonSitePackages);
    }

    /** {@link #open()} with its inputs given (for tests): a property value, an environment value, site-packages. */
    SymbolLookup open(String propertyValue, String envValue, SitePackages sitePackages) {
        List<String> tried = new ArrayList<>();
        for (Map.Entry<String, String> setting : settings(propertyValue, envValue)) {
            Path p = Path.of(setting.getValue());
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException(what + ": " + setting.getKey() + "=" + setting.getValue()
                        + " is not a file; point it at " + sonames.getFirst() + " or unset it to search the loader's "
                        + "path and python3's site-packages");
            }
            return load(p.toString(), setting.getKey() + "=" + setting.getValue());
        }
        for (String soname : sonames) {
            try {
                return SymbolLookup.libraryLookup(soname, Arena.global());
            } catch (IllegalArgumentException e) {
                tried.add(soname + " (the loader's path)");
            }
        }
        for (Path site : sitePackages.dirs()) {
            Path found = findUnder(site.resolve("nvidia"));
            if (found != null) {
                return load(found.toString(), "python3's site-packages");
            }
            tried.add(site.resolve("nvidia") + "/*/lib");
        }
        throw new IllegalStateException(what + " was not found: set " + env + " (environment) or -D" + property
                + " to the path of " + sonames.getFirst() + ", put its folder on LD_LIBRARY_PATH, or pip install "
                + pipHint + " for python3. Looked for: " + String.join(", ", tried)
                + ". It is needed only for collectives on CUDA tensors");
    }

    private List<Map.Entry<String, String>> settings(String propertyValue, String envValue) {
        List<Map.Entry<String, String>> out = new ArrayList<>();
        if (propertyValue != null && !propertyValue.isBlank()) {
            out.add(Map.entry("-D" + property, propertyValue));
        }
        if (envValue != null && !envValue.isBlank()) {
            out.add(Map.entry(env, envValue));
        }
        return out;
    }

    private SymbolLookup load(String path, String from) {
        try {
            return SymbolLookup.libraryLookup(Path.of(path), Arena.global());
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(what + ": " + path + " (from " + from + ") exists but cannot be loaded ("
                    + e.getMessage() + "); is it a 64-bit Linux library whose dependencies are on LD_LIBRARY_PATH?",
                    e);
        }
    }

    /** {@code nvidia/<package>/lib/<filePrefix>*} under {@code nvidia}, preferring the longest (most versioned) name. */
    Path findUnder(Path nvidia) {
        if (!Files.isDirectory(nvidia)) {
            return null;
        }
        Path best = null;
        try (DirectoryStream<Path> packages = Files.newDirectoryStream(nvidia)) {
            for (Path pkg : packages) {
                Path lib = pkg.resolve("lib");
                if (!Files.isDirectory(lib)) {
                    continue;
                }
                try (DirectoryStream<Path> files = Files.newDirectoryStream(lib, filePrefix + "*")) {
                    for (Path f : files) {
                        if (best == null || f.getFileName().toString().length() > best.getFileName().toString()
                                .length()) {
                            best = f;
                        }
                    }
                }
            }
        } catch (IOException e) {
            return best; // an unreadable folder is one place fewer to look
        }
        return best;
    }

    /** Where python3 keeps its packages. */
    @FunctionalInterface
    interface SitePackages {
        List<Path> dirs();
    }

    /** python3's site-packages folders: VIRTUAL_ENV's and the user's first, then python3's own answer. */
    static List<Path> pythonSitePackages() {
        List<Path> out = new ArrayList<>();
        String venv = System.getenv("VIRTUAL_ENV");
        if (venv != null) {
            globPython(Path.of(venv, "lib"), "site-packages", out);
        }
        globPython(Path.of(System.getProperty("user.home"), ".local", "lib"), "site-packages", out);
        globPython(Path.of("/usr/local/lib"), "dist-packages", out);
        globPython(Path.of("/usr/local/lib"), "site-packages", out);
        askPython(out);
        return out;
    }

    private static void globPython(Path lib, String leaf, List<Path> out) {
        if (!Files.isDirectory(lib)) {
            return;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(lib, "python3*")) {
            for (Path p : ds) {
                Path site = p.resolve(leaf);
                if (Files.isDirectory(site) && !out.contains(site)) {
                    out.add(site);
                }
            }
        } catch (IOException e) {
            // unreadable: skip it
        }
    }

    private static void askPython(List<Path> out) {
        Process p = null;
        try {
            p = new ProcessBuilder("python3", "-c", "import site, sys; print('\\n'.join(site.getsitepackages() + "
                    + "[site.getusersitepackages()] + sys.path))").redirectErrorStream(false).start();
            p.getOutputStream().close();
            p.getErrorStream().close();
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                return; // a python3 that hangs is not worth more; the finally ends it
            }
            byte[] text = p.getInputStream().readAllBytes(); // a few lines, already in the pipe
            for (String line : new String(text, java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
                Path site = line.isBlank() ? null : Path.of(line.strip());
                if (site != null && Files.isDirectory(site.resolve("nvidia")) && !out.contains(site)) {
                    out.add(site);
                }
            }
        } catch (IOException e) {
            // no python3: nothing more to search
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (p != null) {
                p.destroyForcibly();
            }
        }
    }
}
