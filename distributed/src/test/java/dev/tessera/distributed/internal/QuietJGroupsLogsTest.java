package dev.tessera.distributed.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import org.jgroups.logging.CustomLogFactory;
import org.jgroups.logging.Log;
import org.jgroups.protocols.SEQUENCER;
import org.jgroups.protocols.TCP;
import org.jgroups.protocols.pbcast.GMS;
import org.junit.jupiter.api.Test;

/** Only the known-benign warnings are demoted; a real failure still shows at its level. */
class QuietJGroupsLogsTest {
    /** Every call on the logs the wrapped factory makes, as "method format". */
    private final List<String> calls = new ArrayList<>();
    private final QuietJGroupsLogs logs = new QuietJGroupsLogs(new CustomLogFactory() {
        @Override
        public Log getLog(Class<?> clazz) {
            return recording();
        }

        @Override
        public Log getLog(String category) {
            return recording();
        }
    });

    private Log recording() {
        return (Log) Proxy.newProxyInstance(Log.class.getClassLoader(), new Class<?>[] {Log.class},
                (proxy, method, args) -> {
                    calls.add(method.getName() + " " + args[0]);
                    return null;
                });
    }

    @Test
    void sequencersDuplicateDropIsLoggedAtDebug() {
        logs.getLog(SEQUENCER.class).warn("%s: dropped duplicate message %s::%d", "a", "b", 1L);
        assertEquals(List.of("debug %s: dropped duplicate message %s::%d"), calls);
    }

    @Test
    void tcpsFailedGracefulCloseIsLoggedAtDebug() {
        logs.getLog(TCP.class).error("%s: failed sending graceful close to %s: %s", "a", "b", "Broken pipe");
        logs.getLog(DaemonTcp.class).error("%s: failed sending graceful close to %s: %s", "a", "b", "Broken pipe");
        assertEquals(List.of("debug %s: failed sending graceful close to %s: %s",
                "debug %s: failed sending graceful close to %s: %s"), calls, "the World's transport is DaemonTcp");
    }

    @Test
    void tcpsOtherErrorsPassUnchanged() {
        logs.getLog(TCP.class).error("%s: failed sending message to %s: %s", "a", "b", "c");
        assertEquals(List.of("error %s: failed sending message to %s: %s"), calls);
    }

    @Test
    void sequencersOtherMessagesAndOtherProtocolsPassUnchanged() {
        Log sequencer = logs.getLog(SEQUENCER.class);
        sequencer.warn("%s: something else %s", "a", "b");
        sequencer.error("%s: failed forwarding message to %s", "a", "b");
        logs.getLog(GMS.class).warn("%s: dropped duplicate message %s::%d", "a", "b", 1L);
        logs.getLog("org.jgroups.protocols.SEQUENCER").warn("%s: dropped duplicate message %s::%d", "a", "b", 1L);
        assertEquals(List.of("warn %s: something else %s", "error %s: failed forwarding message to %s",
                "warn %s: dropped duplicate message %s::%d", "warn %s: dropped duplicate message %s::%d"), calls);
    }
}
