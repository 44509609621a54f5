package dev.tessera.distributed.internal;

import java.util.Map;
import java.util.Set;
import org.jgroups.logging.CustomLogFactory;
import org.jgroups.logging.JDKLogImpl;
import org.jgroups.logging.Log;
import org.jgroups.logging.Log4J2LogImpl;
import org.jgroups.logging.LogFactory;
import org.jgroups.logging.NoopLogImpl;
import org.jgroups.logging.Slf4jLogImpl;
import org.jgroups.protocols.SEQUENCER;
import org.jgroups.protocols.TCP;

/**
 * JGroups' logs as JGroups would make them, except that two messages known to be benign in a World are logged at
 * DEBUG. Thread-safe and stateless but for the factory it wraps; it owns nothing.
 *
 * <ul>
 *   <li>SEQUENCER's warning "dropped duplicate message M::1" on every member, when a member that just joined sends
 *       its first total-order multicast. SEQUENCER forwards a member's first messages to the coordinator and waits
 *       500 ms (a constant of JGroups) for the coordinator's broadcast to come back; a freshly started JVM on a busy
 *       host answers later than that, so the member forwards the message again and every member, the sender
 *       included, drops the second copy, as the protocol intends (it delivers each message once).
 *   <li>TCP's error "failed sending graceful close to P: Broken pipe" (or "Connection reset"), when this member
 *       closes a connection whose peer has closed or died already: the graceful close only tells the peer not to
 *       report the connection's end, and a peer that is gone needs no telling (its departure is the view's
 *       business, and a dead member's calls fail with {@code MemberLostException}).
 * </ul>
 *
 * <p>Every other message of every protocol passes unchanged, at its own level.
 *
 * <p>Installed as JGroups' {@link CustomLogFactory} before the first channel is created ({@link #install()}); a
 * factory installed earlier by the application is kept and wrapped, and a logger class chosen with JGroups'
 * {@code jgroups.log_class} property is left alone (nothing is installed then).
 */
final class QuietJGroupsLogs implements CustomLogFactory {
    /** Per protocol, the formats of its warnings that are benign in a World. */
    private static final Map<Class<?>, Set<String>> BENIGN = Map.of(
            SEQUENCER.class, Set.of("%s: dropped duplicate message %s::%d"),
            TCP.class, Set.of("%s: failed sending graceful close to %s: %s"),
            DaemonTcp.class, Set.of("%s: failed sending graceful close to %s: %s")); // the World's TCP

    private final CustomLogFactory wrapped;

    QuietJGroupsLogs(CustomLogFactory wrapped) {
        this.wrapped = wrapped;
    }

    /** Installs the factory unless it is installed already or the application chose a log class. Idempotent. */
    static synchronized void install() {
        CustomLogFactory current = LogFactory.getCustomLogFactory();
        if (current instanceof QuietJGroupsLogs || System.getProperty("jgroups.log_class") != null) {
            return;
        }
        LogFactory.setCustomLogFactory(new QuietJGroupsLogs(current));
    }

    @Override
    public Log getLog(Class<?> clazz) {
        Log log = wrapped != null ? wrapped.getLog(clazz) : standard(clazz);
        Set<String> benign = BENIGN.get(clazz);
        return benign == null ? log : new DemotingLog(log, benign);
    }

    @Override
    public Log getLog(String category) {
        return wrapped != null ? wrapped.getLog(category) : standard(category);
    }

    /** The log JGroups' {@link LogFactory} makes when no factory is installed (its order of choices). */
    private static Log standard(Class<?> clazz) {
        if (LogFactory.useNoopLogger()) {
            return new NoopLogImpl();
        }
        if (LogFactory.useJdkLogger()) {
            return new JDKLogImpl(clazz);
        }
        if (LogFactory.IS_LOG4J2_AVAILABLE) {
            return new Log4J2LogImpl(clazz);
        }
        return LogFactory.IS_SLF4J_AVAILABLE ? new Slf4jLogImpl(clazz) : new JDKLogImpl(clazz);
    }

    private static Log standard(String category) {
        if (LogFactory.useNoopLogger()) {
            return new NoopLogImpl();
        }
        if (LogFactory.useJdkLogger()) {
            return new JDKLogImpl(category);
        }
        if (LogFactory.IS_LOG4J2_AVAILABLE) {
            return new Log4J2LogImpl(category);
        }
        return LogFactory.IS_SLF4J_AVAILABLE ? new Slf4jLogImpl(category) : new JDKLogImpl(category);
    }

    /**
     * A log that writes the warnings and errors of the given formats at DEBUG, and everything else as {@code log}
     * does.
     */
    private record DemotingLog(Log log, Set<String> benign) implements Log {
        @Override
        public void warn(String format, Object... args) {
            if (benign.contains(format)) {
                log.debug(format, args);
            } else {
                log.warn(format, args);
            }
        }

        @Override
        public void warn(String msg) {
            if (benign.contains(msg)) {
                log.debug(msg);
            } else {
                log.warn(msg);
            }
        }

        @Override
        public void warn(String msg, Throwable t) {
            log.warn(msg, t);
        }

        @Override
        public boolean isFatalEnabled() {
            return log.isFatalEnabled();
        }

        @Override
        public boolean isErrorEnabled() {
            return log.isErrorEnabled();
        }

        @Override
        public boolean isWarnEnabled() {
            return log.isWarnEnabled();
        }

        @Override
        public boolean isInfoEnabled() {
            return log.isInfoEnabled();
        }

        @Override
        public boolean isDebugEnabled() {
            return log.isDebugEnabled();
        }

        @Override
        public boolean isTraceEnabled() {
            return log.isTraceEnabled();
        }

        @Override
        public void fatal(String msg) {
            log.fatal(msg);
        }

        @Override
        public void fatal(String format, Object... args) {
            log.fatal(format, args);
        }

        @Override
        public void fatal(String msg, Throwable t) {
            log.fatal(msg, t);
        }

        @Override
        public void error(String msg) {
            log.error(msg);
        }

        @Override
        public void error(String format, Object... args) {
            if (benign.contains(format)) {
                log.debug(format, args);
            } else {
                log.error(format, args);
            }
        }

        @Override
        public void error(String msg, Throwable t) {
            log.error(msg, t);
        }

        @Override
        public void info(String msg) {
            log.info(msg);
        }

        @Override
        public void info(String format, Object... args) {
            log.info(format, args);
        }

        @Override
        public void debug(String msg) {
            log.debug(msg);
        }

        @Override
        public void debug(String format, Object... args) {
            log.debug(format, args);
        }

        @Override
        public void debug(String msg, Throwable t) {
            log.debug(msg, t);
        }

        @Override
        public void trace(Object msg) {
            log.trace(msg);
        }

        @Override
        public void trace(String msg) {
            log.trace(msg);
        }

        @Override
        public void trace(String format, Object... args) {
            log.trace(format, args);
        }

        @Override
        public void trace(String msg, Throwable t) {
            log.trace(msg, t);
        }

        @Override
        public void setLevel(String level) {
            log.setLevel(level);
        }

        @Override
        public String getLevel() {
            return log.getLevel();
        }
    }
}
