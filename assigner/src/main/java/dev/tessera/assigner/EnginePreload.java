package dev.tessera.assigner;

import ai.djl.engine.Engine;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Thread-safe and holds no memory of its own: loads DJL's engine once, on a daemon thread, ahead of a placement's
 * gradient phase ({@link ModelAssigner#preloadEngine()}). Loading PyTorch's native library is most of a cold
 * placement's wait for the gradient phase (on the project machine at load average 7, DJL's engine took 1.2–1.7 s to
 * load, 0.8–0.9 s of it loading libtorch_cpu), and the caller usually has other start-up work (reading the graph)
 * to do meanwhile. It asks {@link Devices#hasGpu()} first, as the gradient phase does, so the CUDA probe's rules hold,
 * then loads the engine, which {@code hasGpu} does not do where there is no NVIDIA driver. A failure is not reported here: the placement that needs the engine loads it again and reports it.
 */
final class EnginePreload {
    private static final AtomicBoolean STARTED = new AtomicBoolean();
    private static final CountDownLatch DONE = new CountDownLatch(1);
    private static final AtomicInteger LAUNCHED = new AtomicInteger();

    private EnginePreload() {}

    /** Starts the load unless it has been started before. */
    static void start() {
        if (STARTED.compareAndSet(false, true)) {
            LAUNCHED.incrementAndGet();
            Thread.ofPlatform().name("tessera-engine-preload").daemon().start(EnginePreload::load);
        }
    }

    private static void load() {
        try {
            Devices.hasGpu(); // the CUDA probe's rules first; without a driver it answers without DJL
            Engine.getInstance();
        } catch (RuntimeException | LinkageError e) {
            // left for the placement that needs the engine to load again and report
        } finally {
            DONE.countDown();
        }
    }

    /** How many loading threads {@link #start()} has launched: 0 or 1. */
    static int launched() {
        return LAUNCHED.get();
    }

    /** Waits up to {@code timeout} for a started load to end; true when it has. */
    static boolean await(Duration timeout) throws InterruptedException {
        return DONE.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }
}
