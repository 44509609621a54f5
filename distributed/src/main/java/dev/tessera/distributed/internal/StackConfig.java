package dev.tessera.distributed.internal;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.jgroups.JChannel;

/**
 * Builds a World's JGroups channel from the stack in {@code tessera-tcp.xml} (read its comment for the choices),
 * filling in this member's addresses and timeouts. Stateless.
 *
 * <p>Failure detection: FD_SOCK2 reports a killed member as soon as its socket closes; VERIFY_SUSPECT2 then waits
 * {@code failureTimeout / 8} (100 to 500 ms) before GMS excludes it, so a kill -9 is a new view in well under two
 * seconds whatever the failure timeout. A hung member is excluded after {@code failureTimeout} without heartbeats (FD_ALL3, a heartbeat every
 * {@code failureTimeout / 4}).
 */
public final class StackConfig {
    private static final String RESOURCE = "tessera-tcp.xml";
    /** FD_SOCK2 listens at the transport's port plus this (and up to 50 above it). */
    static final int FD_OFFSET = 100;
    /**
     * GMS's join timeout for rank 0, which founds the World: its discovery can only find itself (its initial host is
     * its own address), and it waits this long before it becomes coordinator, so it is short.
     */
    static final long FOUNDER_JOIN_MILLIS = 300;
    /**
     * GMS's join timeout for the other ranks: how long a JOIN waits for rank 0's answer. Rank 0 answers after the
     * existing members acknowledged the new view (up to a second on a loaded host), so a tighter bound made JOINs
     * time out and be retried, and a retried JOIN left the joiner's first multicasts undelivered.
     */
    static final long JOIN_MILLIS = 5_000;
    /**
     * How often the other ranks send their discovery request within one join timeout: rank 0's transport accepts
     * connections before its channel has its cluster name, and drops a request that arrives in that window, so a
     * single request could leave a rank waiting the whole timeout and then alone.
     */
    static final int DISCOVERY_RUNS = 10;
    /** How many ports above a probed one the transport may try. */
    static final int PORT_RANGE = 20;

    private StackConfig() {}

    /**
     * A new, unconnected channel for {@code s}; the transport binds {@code port} (0: a port that is free now, or one
     * of the next {@value #PORT_RANGE} if it is taken by the time JGroups binds; TCPPING needs a fixed port).
     */
    public static JChannel channel(Settings s, int port) {
        int range = 0;
        if (port == 0) {
            port = freePort(s.bindAddress());
            range = PORT_RANGE;
        }
        return channel(s, port, range);
    }

    private static int freePort(java.net.InetAddress address) {
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, address)) {
            return probe.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find a free port on " + address.getHostAddress()
                    + " (set optBindAddress to an address of this host)", e);
        }
    }

    private static JChannel channel(Settings s, int port, int range) {
        QuietJGroupsLogs.install(); // before the protocols take their logs
        try {
            return new JChannel(new ByteArrayInputStream(xml(s, port, range).getBytes(StandardCharsets.UTF_8)));
        } catch (Exception e) {
            throw new IllegalStateException("cannot create the JGroups channel for member '" + s.name() + "' bound to "
                    + s.bindAddress().getHostAddress() + ":" + port + ": " + e.getMessage(), e);
        }
    }

    /** The stack's XML with this member's values filled in. */
    static String xml(Settings s, int port, int range) {
        long failure = s.failureTimeout().toMillis();
        Map<String, String> values = Map.ofEntries(
                Map.entry("bind_addr", s.bindAddress().getHostAddress()),
                Map.entry("bind_port", Integer.toString(port)),
                Map.entry("port_range", Integer.toString(range)),
                Map.entry("initial_hosts", s.coordinator().getHostAddress() + "[" + s.coordinatorPort() + "]"),
                Map.entry("fd_offset", Integer.toString(FD_OFFSET)),
                Map.entry("fd_timeout", failure + "ms"),
                Map.entry("fd_interval", Math.max(50, failure / 4) + "ms"),
                Map.entry("verify_timeout", Math.min(500, Math.max(100, failure / 8)) + "ms"),
                Map.entry("join_timeout", (s.rank() == 0 ? FOUNDER_JOIN_MILLIS : JOIN_MILLIS) + "ms"),
                Map.entry("discovery_runs", Integer.toString(s.rank() == 0 ? 1 : DISCOVERY_RUNS)),
                Map.entry("processing_policy", "all-direct"));
        String xml = template();
        for (Map.Entry<String, String> v : values.entrySet()) {
            xml = xml.replace("@" + v.getKey() + "@", v.getValue());
        }
        return xml;
    }

    private static String template() {
        try (InputStream in = StackConfig.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is missing from the tessera-distributed jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
    }
}
