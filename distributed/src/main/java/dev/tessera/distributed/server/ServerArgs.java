package dev.tessera.distributed.server;

import dev.tessera.distributed.RpcGroup;

/** The checks that the servers' builders share. Stateless. */
final class ServerArgs {
    private ServerArgs() {}

    /** A server's name: non-blank, without {@code @} (the servers' service keys use it as a separator). */
    static String name(String name) {
        if (name == null || name.isBlank() || name.contains("@")) {
            throw new IllegalArgumentException("name='" + name + "' (expected a non-blank name without '@')");
        }
        return name;
    }

    /** An open RPC group. */
    static RpcGroup group(RpcGroup group) {
        if (group == null || group.isDestroyed()) {
            throw new IllegalArgumentException("group=" + group + " (expected an open RpcGroup)");
        }
        return group;
    }
}
