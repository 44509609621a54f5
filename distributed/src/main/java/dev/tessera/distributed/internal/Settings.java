package dev.tessera.distributed.internal;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;

/**
 * The resolved options of one World, checked once by the builder and carried unchanged. Immutable.
 *
 * @param name this member's name, unique in the World
 * @param rank this member's rank, {@code 0 <= rank < worldSize}
 * @param worldSize how many members the World has
 * @param coordinator the address rank 0 listens on, and every other rank discovers the World through
 * @param coordinatorPort the port of {@code coordinator}
 * @param bindAddress the address this member's sockets (transport and failure detection) bind to
 * @param joinTimeout how long {@code build()} waits for all members
 * @param rpcTimeout the default timeout of calls, barriers and table changes
 * @param failureTimeout how long a silent member (no heartbeat) lives before it is excluded
 * @param allowPatterns the World's extra allow-list patterns, checked
 * @param cluster the JGroups cluster name
 * @param tensorBytes true when NDArrays in RPC payloads always travel as bytes, even between members on one host
 *     (forced, for tests and measurements); false for stubs above the threshold on one host
 */
public record Settings(String name, int rank, int worldSize, InetAddress coordinator, int coordinatorPort,
        InetAddress bindAddress, Duration joinTimeout, Duration rpcTimeout, Duration failureTimeout,
        List<String> allowPatterns, String cluster, boolean tensorBytes) {
    public Settings {
        allowPatterns = List.copyOf(allowPatterns);
    }
}
