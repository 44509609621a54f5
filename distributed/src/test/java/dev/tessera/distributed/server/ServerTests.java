package dev.tessera.distributed.server;

import java.time.Duration;

/** Settings shared by the server tests. */
final class ServerTests {
    /**
     * The World's failure timeout in the server tests: a kill -9 is still detected at once (closed sockets), but a
     * member starving on a loaded 2-core host (load average above 15 seen) must not be excluded as hung.
     */
    static final Duration FAILURE_TIMEOUT = Duration.ofSeconds(10);

    private ServerTests() {}
}
