package dev.tessera.pool;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;

/** The shared leak check of tests that fork worker JVMs: no child process of this JVM outlives its pool. */
public final class ProcessLeakCheck {
    private ProcessLeakCheck() {}

    public static List<ProcessHandle> liveWorkers() {
        return ProcessHandle.current().children().filter(ProcessHandle::isAlive).toList();
    }

    /** Asserts at most {@code allowed} worker JVMs are alive (the class's shared pool), killing any extra. */
    public static void assertAtMost(int allowed) {
        List<ProcessHandle> live = liveWorkers();
        if (live.size() > allowed) {
            // give processes that are being reaped right now a moment, then clean up whatever is left
            for (ProcessHandle p : live) {
                p.onExit().completeOnTimeout(p, 2, TimeUnit.SECONDS).join();
            }
            live = liveWorkers();
            live.forEach(ProcessHandle::destroyForcibly);
        }
        assertTrue(live.size() <= allowed, "worker JVMs left alive: " + live.stream()
                .map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList());
    }
}
