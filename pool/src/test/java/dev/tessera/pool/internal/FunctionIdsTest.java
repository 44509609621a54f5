package dev.tessera.pool.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.pool.internal.protocol.TaskFlyweight;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The parent's function table drives the worker's: whatever the sequence, the worker holds every id the parent reuses. */
class FunctionIdsTest {
    /** Plays the worker's side of the protocol: drop the evicted ids, keep a function that travelled. */
    private static final class WorkerTable {
        final Map<Integer, Object> functions = new HashMap<>();

        void receive(int[] evicted, FunctionIds.Assignment a, Object key) {
            for (int id : evicted) {
                functions.remove(id);
            }
            if (a.send()) {
                if (a.id() != TaskFlyweight.UNCACHED) {
                    functions.put(a.id(), key);
                }
            } else {
                assertEquals(key, functions.get(a.id()), "the worker must hold function id " + a.id());
            }
        }
    }

    @Test
    void workerHoldsEveryReusedFunctionAndNoMoreThanTheCapacity() {
        int capacity = 3;
        FunctionIds ids = new FunctionIds(capacity);
        WorkerTable worker = new WorkerTable();
        Random random = new Random(42);
        int sends = 0;
        for (int i = 0; i < 5_000; i++) {
            String key = "fn" + random.nextInt(random.nextBoolean() ? 4 : 40); // hot and cold functions
            FunctionIds.Assignment a = ids.assign(key);
            sends += a.send() ? 1 : 0;
            worker.receive(ids.pendingEvictions(), a, key);
            ids.evictionsSent();
            assertTrue(worker.functions.size() <= capacity, "worker holds " + worker.functions.size());
            assertEquals(ids.size(), worker.functions.size());
        }
        assertTrue(sends < 5_000, "hot functions are reused, not resent every time: " + sends);
    }

    @Test
    void aFunctionTheWorkerDidNotKeepIsSentAgain() {
        FunctionIds ids = new FunctionIds(2);
        FunctionIds.Assignment first = ids.assign("f");
        assertTrue(first.send());
        ids.forget("f"); // the worker could not decode it, or the message never left
        FunctionIds.Assignment again = ids.assign("f");
        assertTrue(again.send());
        assertFalse(ids.assign("f").send());
    }

    @Test
    void evictionsWaitForTheNextTaskThatReachesTheWorker() {
        FunctionIds ids = new FunctionIds(1);
        int a = ids.assign("a").id();
        ids.evictionsSent();
        ids.assign("b");
        ids.forget("b"); // that TASK was too large to send: its eviction of "a" is still owed to the worker
        assertEquals(a, ids.pendingEvictions()[0]);
        ids.assign("c");
        ids.assign("d"); // evicts "c"
        assertEquals(2, ids.pendingEvictions().length);
        ids.evictionsSent();
        assertEquals(0, ids.pendingEvictions().length);
    }

    @Test
    void functionsWithoutIdentityAlwaysTravelUncached() {
        FunctionIds ids = new FunctionIds(2);
        FunctionIds.Assignment a = ids.assign(null);
        assertEquals(TaskFlyweight.UNCACHED, a.id());
        assertTrue(a.send());
        assertEquals(0, ids.size());
    }

    @Test
    void rejectsCapacityBelowOne() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new FunctionIds(0));
        assertEquals("functionCacheCapacity=0 (expected > 0)", e.getMessage());
    }
}
