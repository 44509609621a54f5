package dev.tessera.distributed.internal;

import dev.tessera.sharedmem.SegmentReaper;
import dev.tessera.sharedmem.TensorCodec;
import dev.tessera.sharedmem.TensorRef;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shared-memory references this member handed off in messages to members on its host, kept until nobody can
 * need them back. Thread-safe; it owns no segment (a reference in flight belongs to its message), only the right to
 * take back what no decoder took. TensorCodec's rules (see its Javadoc and sharedmem's README) decide the rest:
 *
 * <ul>
 *   <li>A request's arguments: when the call ends (reply, remote failure, timeout, lost member), the references its
 *       message still has in flight are recalled ({@link TensorCodec#recallHandoff}): the callee took them over
 *       while decoding, or never will (it failed first, or is gone). A late decoder gets a clear error.
 *   <li>A reply's values: the caller decodes the reply when it arrives, so a reference still in flight after the
 *       call's timeout (the caller gave up and dropped the reply) or after the caller left the World is recalled.
 *       Until then it is kept here, and dropped once its segment is gone (the caller closed it).
 *   <li>A receiver that took a reference over and then died holds it as a dead process: this member created the
 *       segment and lives, so the sharedmem reaper gives the dead holder's reference back
 *       ({@link SegmentReaper#reap}, run here when a member this member sent stubs to leaves the World).
 *   <li>When this member dies, its segments in flight are owned by a dead process: a receiver still takes them
 *       over and releases them, and those nobody takes are orphans the reaper removes (on the next JVM's first use
 *       of the directory, or {@code ./tessera shm gc}).
 * </ul>
 */
final class Handoffs {
    private static final Logger LOG = LoggerFactory.getLogger(Handoffs.class);
    /** Above this many references kept, a new one first sweeps out those that are settled. */
    private static final int SWEEP_ABOVE = 64;

    private record Kept(TensorRef ref, long recallAtNanos) {}

    private final Map<String, List<Kept>> kept = new HashMap<>();
    /** Per member, the directories of every segment handed off to it, so its death can be reaped there. */
    private final Map<String, Set<Path>> sentTo = new HashMap<>();
    private final AtomicLong handedOff = new AtomicLong();
    private int size;

    /** How many references this member has handed off in all (a stub per tensor sent through shared memory). */
    long handedOffCount() {
        return handedOff.get();
    }

    /** The arguments of a call to {@code member} ended: takes back whatever its decoder did not take. */
    void settle(String member, List<TensorRef> refs) {
        if (refs.isEmpty()) {
            return;
        }
        noteSent(member, refs);
        refs.forEach(Handoffs::recall);
    }

    /** A reply to {@code member} hands off {@code refs}; those still in flight after {@code keepNanos} are recalled. */
    void replied(String member, List<TensorRef> refs, long keepNanos) {
        if (refs.isEmpty()) {
            return;
        }
        noteSent(member, refs);
        long at = System.nanoTime() + keepNanos;
        boolean sweep;
        synchronized (this) {
            List<Kept> list = kept.computeIfAbsent(member, m -> new ArrayList<>());
            refs.forEach(r -> list.add(new Kept(r, at)));
            size += refs.size();
            sweep = size > SWEEP_ABOVE;
        }
        if (sweep) {
            sweep();
        }
    }

    private synchronized void noteSent(String member, List<TensorRef> refs) {
        handedOff.addAndGet(refs.size());
        Set<Path> dirs = sentTo.computeIfAbsent(member, m -> new HashSet<>());
        refs.forEach(r -> dirs.add(r.directory()));
    }

    /**
     * Member {@code member} left the World: takes back what it never took, and gives back (through the reaper) the
     * references it took and died holding.
     */
    void departed(String member) {
        List<Kept> mine;
        Set<Path> dirs;
        synchronized (this) {
            mine = kept.remove(member);
            dirs = sentTo.remove(member);
            size -= mine == null ? 0 : mine.size();
        }
        if (mine != null) {
            mine.forEach(k -> recall(k.ref()));
        }
        if (dirs != null) {
            dirs.forEach(dir -> reap(dir, member));
        }
    }

    /** Runs the sharedmem reaper in {@code dir}, because member {@code member} left. */
    void reap(Path dir, String member) {
        try {
            SegmentReaper.reap(dir);
        } catch (RuntimeException e) {
            LOG.warn("reaping {} after member '{}' left failed: {}; run ./tessera shm gc", dir, member, e.toString());
        }
    }

    /** Recalls the kept references whose time is up, and forgets those whose segment is gone. */
    void sweep() {
        long now = System.nanoTime();
        List<TensorRef> due = new ArrayList<>();
        synchronized (this) {
            for (List<Kept> list : kept.values()) {
                list.removeIf(k -> {
                    boolean late = now - k.recallAtNanos() >= 0;
                    if (late) {
                        due.add(k.ref());
                    }
                    return late || !Files.exists(k.ref().directory().resolve(k.ref().segmentName()));
                });
            }
            kept.values().removeIf(List::isEmpty);
            size = kept.values().stream().mapToInt(List::size).sum();
        }
        due.forEach(Handoffs::recall);
    }

    private static void recall(TensorRef ref) {
        try {
            TensorCodec.recallHandoff(ref);
        } catch (RuntimeException e) {
            LOG.warn("taking back the stub of segment {} failed: {}; the reaper will collect it", ref.segmentName(),
                    e.toString());
        }
    }
}
