package dev.tessera.distributed;

import java.io.Serializable;

/**
 * A stateless function of two arguments, thread-safe as far as its code is and owning nothing once sent, that an
 * {@link RpcGroup} runs in another member. It travels serialized (a lambda or method reference works because every
 * member has the same classpath), so anything it captures must be {@link Serializable}.
 *
 * @param <T> the first argument's type
 * @param <U> the second argument's type
 * @param <R> the result type
 */
@FunctionalInterface
public interface RemoteBiFunction<T, U, R> extends Serializable {
    /**
     * Runs in the member the call goes to.
     *
     * @param arg1 the first argument, decoded in the member that runs it
     * @param arg2 the second argument
     * @return the result, sent back (it must be serializable, or a tensor)
     * @throws Exception anything; the caller gets a {@link RemoteCallException} with its type, message and trace
     */
    R apply(T arg1, U arg2) throws Exception;
}
