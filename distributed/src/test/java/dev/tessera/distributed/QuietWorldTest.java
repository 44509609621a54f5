package dev.tessera.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.distributed.testing.Await;
import dev.tessera.distributed.testing.MemberJvm;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.RepeatedTest;

/**
 * A normal World start and stop writes no WARN or ERROR line (JGroups' or ours) to the members' stderr: users see
 * them in their own output. Three child JVMs (logging at WARN) join together, pass a barrier (a total-order
 * multicast from each), and exit one after the other, rank 0, the coordinator, first: the order that makes the
 * others take over and leave a shrinking group.
 */
class QuietWorldTest {
    /** An slf4j-simple line at WARN or ERROR, whoever logged it. */
    private static final Pattern LOUD = Pattern.compile("(?m)^.*\\] (WARN|ERROR) .*$");

    @RepeatedTest(2)
    void startingAndClosingAWorldLogsNoWarningOrError() throws Exception {
        String coordinator = Await.freeCoordinator();
        List<MemberJvm> members = new ArrayList<>();
        try {
            for (int rank = 0; rank < 3; rank++) {
                members.add(MemberJvm.start(rank, 3, coordinator));
            }
            for (MemberJvm m : members) {
                m.expect("READY", 60);
            }
            members.forEach(m -> m.send("barrier 30000"));
            for (MemberJvm m : members) {
                assertEquals("OK", m.expect("BARRIER", 60));
            }
            for (MemberJvm m : members) {
                assertEquals(0, m.exit(30), m.name() + " exited with an error:\n" + m.stderrText());
            }
            StringBuilder loud = new StringBuilder();
            for (MemberJvm m : members) {
                java.util.regex.Matcher line = LOUD.matcher(m.stderrText());
                while (line.find()) {
                    loud.append(m.name()).append(": ").append(line.group()).append('\n');
                }
            }
            assertTrue(loud.isEmpty(), "a normal start and stop logged warnings or errors:\n" + loud);
        } finally {
            for (MemberJvm m : members) {
                m.close();
            }
        }
    }
}
