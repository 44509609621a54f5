package dev.tessera.distributed;

import java.io.Serializable;

/**
 * A function of no arguments that an {@link RpcGroup} runs in another member. Stateless by contract and thread-safe as far as
 * the caller's code is; it travels serialized (a lambda or method reference works because every member has the same
 * classpath), so anything it captures must be {@link Serializable}, and it owns nothing once sent.
 *
 * @param <R> the result type
 */
@FunctionalInterface
public interface RemoteCallable<R> extends Serializable {
    /**
     * Runs in the member the call goes to.
     *
     * @return the result, sent back (it must be serializable, or a tensor)
     * @throws Exception anything; the caller gets a {@link RemoteCallException} with its type, message and trace
     */
    R call() throws Exception;
}
