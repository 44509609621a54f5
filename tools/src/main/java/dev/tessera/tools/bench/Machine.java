package dev.tessera.tools.bench;

import java.nio.file.Files;
import java.nio.file.Path;

/** One line describing the machine a benchmark ran on. */
final class Machine {
    private Machine() {}

    static String describe() {
        String cpu = "unknown CPU";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    cpu = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (Exception e) {
            // not Linux: keep the generic name
        }
        return String.format("%s, %d cores, %.0f GiB heap max, Java %s", cpu, Runtime.getRuntime().availableProcessors(),
                Runtime.getRuntime().maxMemory() / (1024.0 * 1024 * 1024), System.getProperty("java.version"));
    }
}
