package dev.tessera.distributed;

import dev.tessera.distributed.internal.Frame;
import dev.tessera.distributed.internal.Node;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A thread-safe reference to a value that stays in, and is owned by, the member that computed it
 * ({@link RpcGroup#remote}, {@link RpcGroup#registeredRemote}); machin's {@code RRef}. The owner holds the value until
 * this reference is closed, the group's World closes, or this member leaves the World; {@link #toHere()} fetches a
 * copy as often as needed.
 *
 * @param <T> the value's type
 */
public final class RemoteRef<T> implements AutoCloseable {
    private final RpcGroup group;
    private final Node node;
    private final String owner;
    private final long id;
    private final AtomicBoolean closed = new AtomicBoolean();

    RemoteRef(RpcGroup group, Node node, String owner, long id) {
        this.group = group;
        this.node = node;
        this.owner = owner;
        this.id = id;
    }

    /**
     * The member that holds the value.
     *
     * @return its name
     */
    public String owner() {
        return owner;
    }

    /**
     * Fetches a copy of the value; NDArrays in it attach to {@link World#manager()}.
     *
     * @return the value
     * @throws MemberLostException if the owner died or left
     * @throws IllegalStateException if this reference is closed
     */
    public T toHere() {
        return RpcGroup.await(toHereAsync());
    }

    /**
     * Fetches a copy of the value.
     *
     * @return the future value, completed exceptionally as {@link #toHere()} throws
     * @throws IllegalStateException if this reference is closed
     */
    public CompletableFuture<T> toHereAsync() {
        if (closed.get()) {
            throw new IllegalStateException("the reference to value " + id + " in '" + owner + "' is closed");
        }
        String what = "fetching value " + id + " from '" + owner + "' (group '" + group.name() + "')";
        return node.request(owner, Frame.of(Frame.FETCH, id, group.name()), group.timeout(), what)
                .thenApply(reply -> group.value(owner, reply, what));
    }

    /** Lets the owner drop the value (a message that is lost harmlessly if the owner is gone). Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            node.send(owner, Frame.of(Frame.RELEASE, id, group.name()));
        }
    }

    @Override
    public String toString() {
        return "RemoteRef[" + id + " in " + owner + (closed.get() ? ", closed]" : "]");
    }
}
