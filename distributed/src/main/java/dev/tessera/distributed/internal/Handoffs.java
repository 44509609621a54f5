package dev.tessera.distributed.internal;

import dev.tessera.sharedmem.SegmentReaper;
import dev.tessera.sharedmem.TensorCodec;
import dev.tessera.sharedmem.TensorRef;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
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
 *       call's timeout (the caller gave up and dropped the reply) or after the caller left the World is recalled
 *       (a no-op for one the caller took). Until then it is kept here, in the order sent; every reply first
 *       recalls those whose time is up, and a timer does when they are due, so the ledger holds the stubs of one
 *       timeout's worth of replies.
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
    private record Kept(String member, TensorRef ref, long recallAtNanos) {}

    /** In the order sent; a later entry may be due before an earlier one (timeouts differ), and waits for it. */
    private final ArrayDeque<Kept> kept = new ArrayDeque<>();
    /** Per member, the directories of every segment handed off to it, so its death can be reaped there. */
    private final Map<String, Set<Path>> sentTo = new HashMap<>();
    private final AtomicLong handedOff = new AtomicLong();

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
        synchronized (this) {
            refs.forEach(r -> kept.add(new Kept(member, r, at)));
        }
        sweep();
        // and once they are due, should no later reply or departure come by first
        CompletableFuture.delayedExecutor(keepNanos, TimeUnit.NANOSECONDS).execute(this::sweep);
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
        List<TensorRef> mine = new ArrayList<>();
        Set<Path> dirs;
        synchronized (this) {
            kept.removeIf(k -> k.member().equals(member) && mine.add(k.ref()));
            dirs = sentTo.remove(member);
        }
        mine.forEach(Handoffs::recall);
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

    /** Recalls the kept references whose time is up, oldest first. */
    void sweep() {
        long now = System.nanoTime();
        List<TensorRef> due = new ArrayList<>();
        synchronized (this) {
            while (!kept.isEmpty() && now - kept.peekFirst().recallAtNanos() >= 0) {
                due.add(kept.pollFirst().ref());
            }
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
