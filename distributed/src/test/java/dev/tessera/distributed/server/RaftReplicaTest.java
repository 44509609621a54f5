package dev.tessera.distributed.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Three Raft replicas in this JVM (jgroups-raft 1.0.14 on the module's JGroups 5.5.x): commands submitted at any
 * replica are applied on all in one order, compare-and-set holds across replicas, a leader that leaves is replaced
 * and no committed push is lost, and the log directories the replicas created are deleted when they close.
 */
class RaftReplicaTest {
    private static final Duration T = Duration.ofSeconds(20);

    @Test
    void replicasAgreeSurviveTheLeadersDepartureAndDeleteTheirLogs() throws Exception {
        List<String> ids = List.of("a", "b", "c");
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            int p = RaftReplica.freePort("127.0.0.1");
            while (ports.contains(p) || ports.contains(p + 100) || ports.contains(p - 100)) {
                p = RaftReplica.freePort("127.0.0.1");
            }
            ports.add(p);
        }
        List<String> peers = ports.stream().map(p -> "127.0.0.1:" + p).toList();
        List<RaftReplica> replicas = new ArrayList<>();
        List<Path> logDirs = new ArrayList<>();
        try {
            List<CompletableFuture<RaftReplica>> starting = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                int n = i;
                starting.add(CompletableFuture.supplyAsync(() -> new RaftReplica("raft-test", ids.get(n), ids,
                        "127.0.0.1", ports.get(n), peers, null, 100)));
            }
            for (CompletableFuture<RaftReplica> f : starting) {
                replicas.add(f.get(30, TimeUnit.SECONDS));
            }
            replicas.forEach(r -> logDirs.add(r.logDir()));
            assertTrue(Files.isDirectory(logDirs.getFirst()));
            long t0 = System.nanoTime();
            assertArrayEquals(new byte[] {1}, replicas.get(0).submit(push("k", 1, 0, 1), T), "a new key");
            System.out.printf("first commit after start: %d ms%n", (System.nanoTime() - t0) / 1_000_000);
            assertArrayEquals(new byte[] {1}, replicas.get(1).submit(push("k", 2, 1, 2), T), "prev 1 is newest");
            assertArrayEquals(new byte[] {0}, replicas.get(2).submit(push("k", 3, 1, 3), T), "prev 1 is stale");
            assertArrayEquals(new byte[] {1}, replicas.get(2).submit(push("k", 2, 1, 2), T), "a retry of request 2");
            assertEquals(2, VersionedTable.readReply(replicas.get(2).submit(VersionedTable.pullCommand("k", null), T))
                    .version());

            String leader = replicas.get(0).leader();
            assertNotNull(leader);
            RaftReplica gone = replicas.stream().filter(r -> leader.equals(r.raftId())).findFirst().orElseThrow();
            gone.close();
            replicas.remove(gone);
            long t1 = System.nanoTime();
            assertArrayEquals(new byte[] {1}, replicas.get(0).submit(push("k", 3, 2, 4), T), "after the leader left");
            System.out.printf("leader left: next commit after %d ms%n", (System.nanoTime() - t1) / 1_000_000);
            for (RaftReplica r : replicas) {
                VersionedTable.Reply v = VersionedTable.readReply(r.submit(VersionedTable.pullCommand("k", 2L), T));
                assertEquals(2, v.version(), "version 2, committed before the leader left, is kept");
                assertFalse(r.leader().equals(leader), "a new leader");
            }
        } finally {
            replicas.forEach(RaftReplica::close);
        }
        for (Path dir : logDirs) {
            assertFalse(Files.exists(dir), dir + " is deleted");
        }
    }

    static byte[] push(String key, long version, long prev, long request) {
        return VersionedTable.pushCommand(key, version, prev, 0, request, new byte[] {(byte) version});
    }
}
