package dev.tessera.distributed;

/**
 * A service, which must be thread-safe and owns whatever its implementation holds, that one member registers under a
 * key of an {@link RpcGroup} ({@link RpcGroup#register}) and every member calls by key
 * ({@link RpcGroup#registeredSync}). It stays in the process that registered it and is never serialized; calls from
 * several members run on it concurrently.
 */
@FunctionalInterface
public interface Service {
    /**
     * Handles one call.
     *
     * @param args the caller's arguments, decoded in this process
     * @return the result, sent back (it must be serializable, or a tensor)
     * @throws Exception anything; the caller gets a {@link RemoteCallException} with its type, message and trace
     */
    Object call(Object... args) throws Exception;
}
