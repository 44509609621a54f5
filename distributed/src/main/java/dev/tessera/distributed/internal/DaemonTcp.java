package dev.tessera.distributed.internal;

import org.jgroups.protocols.TCP;
import org.jgroups.util.LazyThreadFactory;

/**
 * JGroups' TCP transport whose threads (the timer, the acceptor, the connection readers, the thread pool, and those
 * of the protocols above it, which all take the transport's factory) are daemons; otherwise the same protocol,
 * configured by the same attributes in {@code tessera-tcp.xml}. Instantiated by JGroups, one per channel.
 *
 * <p>Why: JGroups' own factory makes non-daemon threads, so a program whose {@code main} returned without closing its
 * World never exited (the channel's threads kept the JVM alive, and the other members kept waiting for it). With
 * daemon threads the JVM exits, and the World's shutdown hook closes the World first, so the other members see a
 * normal leave.
 */
public final class DaemonTcp extends TCP {
    /** A transport with a daemon thread factory (named {@code jgroups-N}, as JGroups names its own). */
    public DaemonTcp() {
        setThreadFactory(new LazyThreadFactory("jgroups", true, true));
    }
}
