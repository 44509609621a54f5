package dev.tessera.distributed;

import java.io.Serializable;

/**
 * A stateless function of no arguments, thread-safe as far as its code is and owning nothing once sent, that an
 * {@link RpcGroup} runs in another member. It travels serialized (a lambda or method reference works because every
 * member has the same classpath), so anything it captures must be {@link Serializable}.
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
