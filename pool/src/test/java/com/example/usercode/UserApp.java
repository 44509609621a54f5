package com.example.usercode;

import dev.tessera.pool.Pools;
import dev.tessera.pool.WorkerPool;
import java.util.List;

/** A user's program: the shared process pool runs its lambdas with no option set. Prints one RESULT line. */
public final class UserApp {
    private UserApp() {}

    public static void main(String[] args) {
        WorkerPool shared = Pools.processPool();
        int one = shared.apply(UserTasks.doubler(), 21);
        List<Integer> many = shared.map(UserTasks.doubler(), List.of(1, 2, 3));
        UserTasks.Point p = shared.apply(UserTasks.diagonal(), 7);
        System.out.println("RESULT " + one + " " + many + " " + p);
        System.exit(0); // the shared pool's shutdown hook stops its workers
    }
}
