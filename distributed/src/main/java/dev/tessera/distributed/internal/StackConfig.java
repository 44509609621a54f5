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
 * {@code failureTimeout / 8} (at least 100 ms) before GMS excludes it, so a kill -9 is a new view in well under two
 * seconds. A hung member is excluded after {@code failureTimeout} without heartbeats (FD_ALL3, a heartbeat every
 * {@code failureTimeout / 4}).
 */
public final class StackConfig {
    private static final String RESOURCE = "tessera-tcp.xml";
    /** FD_SOCK2 listens at the transport's port plus this (and up to 50 above it). */
    static final int FD_OFFSET = 100;
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
        Map<String, String> values = Map.of(
                "bind_addr", s.bindAddress().getHostAddress(),
                "bind_port", Integer.toString(port),
                "port_range", Integer.toString(range),
                "initial_hosts", s.coordinator().getHostAddress() + "[" + s.coordinatorPort() + "]",
                "fd_offset", Integer.toString(FD_OFFSET),
                "fd_timeout", failure + "ms",
                "fd_interval", Math.max(50, failure / 4) + "ms",
                "verify_timeout", Math.max(100, failure / 8) + "ms",
                "join_timeout", "1000ms",
                "processing_policy", "all-direct");
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
