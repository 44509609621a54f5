package dev.tessera.distributed;

import java.time.Duration;

/**
 * An immutable, thread-safe report (holding no resources) that a call, barrier or table change of an
 * {@link RpcGroup} did not complete within its timeout while every member it waited on was still alive.
 */
public final class GroupTimeoutException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * Reports a timeout.
     *
     * @param what what timed out, naming the group and members
     * @param timeout the timeout that passed
     */
    public GroupTimeoutException(String what, Duration timeout) {
        super(what + " did not complete within " + timeout.toMillis() + " ms; the members it waits on are alive, so "
                + "they are slow or blocked (raise the timeout with RpcGroup.withTimeout or optRpcTimeout)");
    }
}
