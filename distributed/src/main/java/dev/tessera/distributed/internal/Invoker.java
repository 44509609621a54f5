package dev.tessera.distributed.internal;

/** Runs a decoded function or service on decoded arguments in this member; the API layer supplies it. Stateless. */
@FunctionalInterface
public interface Invoker {
    /**
     * Runs {@code target} (a function the caller sent, or a registered service) on {@code args}.
     *
     * @throws Exception whatever the target throws; it goes back to the caller
     */
    Object invoke(Object target, Object[] args) throws Exception;
}
