package dev.tessera.assigner;

import java.nio.file.Path;

/**
 * The child JVM of {@link ColdStartTest}: {@code probe DIR} asks {@link Devices#hasGpu(Path)} with DIR as the
 * driver's folder; {@code place} places two models on the virtual devices; {@code preload} preloads DJL's engine and
 * waits for it. Prints its answer on stdout.
 */
final class ColdStartChild {
    private ColdStartChild() {}

    public static void main(String[] args) {
        switch (args[0]) {
            case "probe" -> System.out.println("hasGpu=" + Devices.hasGpu(Path.of(args[1])));
            case "place" -> {
                Placement p = ModelAssigner.builder()
                        .addModel("encoder", 300)
                        .addModel("decoder", 300)
                        .connect("encoder", "decoder", 1)
                        .setDevices(Devices.virtualSet())
                        .build()
                        .placement();
                System.out.println("placement=" + p.assignmentByName() + " gradient=" + p.gradientPhase());
            }
            case "preload" -> {
                ModelAssigner.preloadEngine();
                try {
                    System.out.println("preloaded=" + EnginePreload.await(java.time.Duration.ofSeconds(60)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for the preload", e);
                }
            }
            default -> throw new IllegalArgumentException("unknown mode " + args[0]
                    + " (expected probe DIR, place or preload)");
        }
    }
}
