package dev.tessera.sharedmem.store;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;

/** The writer threads of the concurrent-update test, run the same way in the parent and in the child JVM. */
public final class StoreCounters {
    private StoreCounters() {}

    /**
     * Starts {@code threads} threads that wait at {@code start}, then each increment "counter" {@code increments}
     * times and put their own key ({@code prefix-t}) after each increment. Failures are added to {@code failures}.
     */
    public static List<Thread> start(SharedStore store, String prefix, int threads, int increments, CyclicBarrier start,
            List<Throwable> failures) {
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            String own = prefix + "-" + t;
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                    for (int i = 0; i < increments; i++) {
                        store.update("counter", Integer.class, n -> n + 1);
                        store.put(own, i);
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        return workers;
    }
}
