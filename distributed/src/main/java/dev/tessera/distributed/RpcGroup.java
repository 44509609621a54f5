package dev.tessera.distributed;

import dev.tessera.distributed.internal.Failures;
import dev.tessera.distributed.internal.Frame;
import dev.tessera.distributed.internal.KeyTable;
import dev.tessera.distributed.internal.Node;
import dev.tessera.distributed.internal.PayloadCodec;
import java.time.Duration;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * This member's side of a named group of World members that call each other and share values and services, thread-safe
 * and owning nothing but its registrations (services stay in the process that registered them); machin's
 * {@code RpcGroup}. It is closed by {@link #destroy()} or {@link World#close()}.
 *
 * <p><b>Calls.</b> {@code rpcSync}, {@code rpcAsync} and {@code remote} run a serializable function (a lambda or
 * method reference; see {@link RemoteFunction}) in another member (or this one). Arguments and results travel through
 * the project's TensorCodec behind its allow-list: the package trees of the function's and the arguments' classes
 * are allowed automatically, anything else nested in them needs {@link World.Builder#optAllowPatterns}. NDArrays of
 * more than 1 MiB travel to a member on this host as shared-memory stubs ({@link #sharesMemoryWith}), others as
 * bytes; the callee's arguments are views of shared memory for the call's duration, and the caller's results are
 * its own copies, whichever way they came.
 * An exception thrown over there comes back as a {@link RemoteCallException} with its type, message and remote
 * stack trace. A call to a member that dies fails with {@link MemberLostException} within about two seconds; a call
 * that outlasts the timeout fails with {@link GroupTimeoutException}.
 *
 * <p><b>Pairs and services.</b> {@link #pair} shares a value under a key, {@link #register} a service; the first
 * member to claim a key wins it group-wide. The key table is replicated to every member through total-order
 * multicast, so every member agrees on the winner, reads are local, and no member is a single point of failure; a
 * member's keys go when it leaves the World. A paired value lives in every member's table; a service stays in the
 * process that registered it and is called there.
 *
 * <p><b>Barriers.</b> {@link #barrier(Duration)} returns when every group member has reached the same barrier (each
 * member counts its own barrier calls, so all must call it equally often), and fails with
 * {@link MemberLostException} if a member dies first. Arrivals travel in the same total order as key changes, so
 * what any member paired or registered before a barrier is in every member's table after it.
 */
public final class RpcGroup {
    private final World world;
    private final Node node;
    private final String name;
    private final List<String> members;
    private final Set<String> memberSet;
    private final Duration timeout;
    private final Shared shared;

    /** State every timeout view of one group shares. */
    private static final class Shared {
        final AtomicBoolean destroyed = new AtomicBoolean();
        final AtomicLong barriers = new AtomicLong();
    }

    RpcGroup(World world, Node node, String name, List<String> members, Duration timeout) {
        this(world, node, name, members, timeout, new Shared());
    }

    private RpcGroup(World world, Node node, String name, List<String> members, Duration timeout, Shared shared) {
        this.world = world;
        this.node = node;
        this.name = name;
        this.members = members;
        this.memberSet = Set.copyOf(members);
        this.timeout = timeout;
        this.shared = shared;
    }

    /**
     * This group with another timeout for its calls, barriers and key changes; the two share everything else.
     *
     * @param timeout a positive duration
     * @return a view of this group
     * @throws IllegalArgumentException if the timeout is not positive
     */
    public RpcGroup withTimeout(Duration timeout) {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout=" + timeout + " (expected > 0)");
        }
        return new RpcGroup(world, node, name, members, timeout, shared);
    }

    /**
     * The group's name.
     *
     * @return the name given to {@link World#createRpcGroup}
     */
    public String name() {
        return name;
    }

    /**
     * The number of members the group was created with.
     *
     * @return the size
     */
    public int size() {
        return members.size();
    }

    /**
     * The group's members, as created (a member that died stays listed; calls to it fail).
     *
     * @return an immutable list of names
     */
    public List<String> members() {
        return members;
    }

    /**
     * This member's name.
     *
     * @return the name of the World member this process is
     */
    public String currentName() {
        return world.name();
    }

    /**
     * The timeout of this view's calls, barriers and key changes.
     *
     * @return the timeout
     */
    public Duration timeout() {
        return timeout;
    }

    // ---------------------------------------------------------------------------------------------- rpc

    /**
     * Runs {@code fn} in member {@code to} and waits for its result.
     *
     * @param to the member's name
     * @param fn the function
     * @param <R> the result type
     * @return its result
     * @throws RemoteCallException if it threw there
     * @throws MemberLostException if {@code to} died or left
     * @throws GroupTimeoutException if the timeout passed
     * @throws IllegalArgumentException if {@code to} is not a member of the group
     */
    public <R> R rpcSync(String to, RemoteCallable<R> fn) {
        return await(rpcAsync(to, fn));
    }

    /**
     * Runs {@code fn(arg)} in member {@code to} and waits for its result.
     *
     * @param to the member's name
     * @param fn the function
     * @param arg its argument
     * @param <T> the argument type
     * @param <R> the result type
     * @return its result
     * @throws RemoteCallException if it threw there
     * @throws MemberLostException if {@code to} died or left
     * @throws GroupTimeoutException if the timeout passed
     */
    public <T, R> R rpcSync(String to, RemoteFunction<T, R> fn, T arg) {
        return await(rpcAsync(to, fn, arg));
    }

    /**
     * Runs {@code fn(arg1, arg2)} in member {@code to} and waits for its result.
     *
     * @param to the member's name
     * @param fn the function
     * @param arg1 its first argument
     * @param arg2 its second argument
     * @param <T> the first argument's type
     * @param <U> the second argument's type
     * @param <R> the result type
     * @return its result
     * @throws RemoteCallException if it threw there
     * @throws MemberLostException if {@code to} died or left
     * @throws GroupTimeoutException if the timeout passed
     */
    public <T, U, R> R rpcSync(String to, RemoteBiFunction<T, U, R> fn, T arg1, U arg2) {
        return await(rpcAsync(to, fn, arg1, arg2));
    }

    /**
     * Runs {@code fn} in member {@code to}.
     *
     * @param to the member's name
     * @param fn the function
     * @param <R> the result type
     * @return its future result, completed exceptionally as {@link #rpcSync(String, RemoteCallable)} throws
     */
    public <R> CompletableFuture<R> rpcAsync(String to, RemoteCallable<R> fn) {
        return call(to, Frame.CALL, fn, new Object[0]).thenApply(reply -> value(to, reply, "rpc to " + to));
    }

    /**
     * Runs {@code fn(arg)} in member {@code to}.
     *
     * @param to the member's name
     * @param fn the function
     * @param arg its argument
     * @param <T> the argument type
     * @param <R> the result type
     * @return its future result, completed exceptionally as {@link #rpcSync(String, RemoteFunction, Object)} throws
     */
    public <T, R> CompletableFuture<R> rpcAsync(String to, RemoteFunction<T, R> fn, T arg) {
        return call(to, Frame.CALL, fn, new Object[] {arg}).thenApply(reply -> value(to, reply, "rpc to " + to));
    }

    /**
     * Runs {@code fn(arg1, arg2)} in member {@code to}.
     *
     * @param to the member's name
     * @param fn the function
     * @param arg1 its first argument
     * @param arg2 its second argument
     * @param <T> the first argument's type
     * @param <U> the second argument's type
     * @param <R> the result type
     * @return its future result, completed exceptionally as the synchronous form throws
     */
    public <T, U, R> CompletableFuture<R> rpcAsync(String to, RemoteBiFunction<T, U, R> fn, T arg1, U arg2) {
        return call(to, Frame.CALL, fn, new Object[] {arg1, arg2}).thenApply(reply -> value(to, reply, "rpc to " + to));
    }

    /**
     * Runs {@code fn} in member {@code to} and keeps the result there.
     *
     * @param to the member's name
     * @param fn the function
     * @param <R> the result type
     * @return a reference to the result, held in {@code to} until the reference is closed
     * @throws RemoteCallException if it threw there
     * @throws MemberLostException if {@code to} died or left
     */
    public <R> RemoteRef<R> remote(String to, RemoteCallable<R> fn) {
        return await(call(to, Frame.REMOTE, fn, new Object[0]).thenApply(reply -> ref(to, reply)));
    }

    /**
     * Runs {@code fn(arg)} in member {@code to} and keeps the result there.
     *
     * @param to the member's name
     * @param fn the function
     * @param arg its argument
     * @param <T> the argument type
     * @param <R> the result type
     * @return a reference to the result, held in {@code to} until the reference is closed
     * @throws RemoteCallException if it threw there
     * @throws MemberLostException if {@code to} died or left
     */
    public <T, R> RemoteRef<R> remote(String to, RemoteFunction<T, R> fn, T arg) {
        return await(call(to, Frame.REMOTE, fn, new Object[] {arg}).thenApply(reply -> ref(to, reply)));
    }

    /**
     * Runs {@code fn(arg1, arg2)} in member {@code to} and keeps the result there.
     *
     * @param to the member's name
     * @param fn the function
     * @param arg1 its first argument
     * @param arg2 its second argument
     * @param <T> the first argument's type
     * @param <U> the second argument's type
     * @param <R> the result type
     * @return a reference to the result, held in {@code to} until the reference is closed
     * @throws RemoteCallException if it threw there
     * @throws MemberLostException if {@code to} died or left
     */
    public <T, U, R> RemoteRef<R> remote(String to, RemoteBiFunction<T, U, R> fn, T arg1, U arg2) {
        return await(call(to, Frame.REMOTE, fn, new Object[] {arg1, arg2}).thenApply(reply -> ref(to, reply)));
    }

    private CompletableFuture<Frame> call(String to, byte kind, Object fn, Object[] args) {
        checkOpen();
        Objects.requireNonNull(fn, "fn");
        checkMember(to);
        Object[] fnAndArgs = new Object[args.length + 1];
        fnAndArgs[0] = fn;
        System.arraycopy(args, 0, fnAndArgs, 1, args.length);
        PayloadCodec.Encoded payload = node.codec().encodeFor(node.stubsTo(to), fnAndArgs, fnAndArgs);
        // the frame's id carries this call's timeout: the callee keeps a stub in its reply that long for us
        Frame f = new Frame(kind, (byte) 0, timeout.toMillis(), name, "", "", null).with(payload);
        return node.request(to, f, payload.handedOff(), timeout, what(kind, to));
    }

    private String what(byte kind, String to) {
        return (kind == Frame.REMOTE ? "remote" : "rpc") + " to '" + to + "' in group '" + name + "'";
    }

    /**
     * Whether NDArrays sent to member {@code to} (arguments, and results it returns) travel as shared-memory stubs:
     * it is on this host and the World does not force bytes ({@link World.Builder#optTensorBytes}). Arrays of at most
     * 1 MiB travel as bytes even then.
     *
     * @param to a member of this group
     * @return true for stubs, false for bytes
     * @throws IllegalArgumentException if {@code to} is not a member of this group
     */
    public boolean sharesMemoryWith(String to) {
        checkMember(to);
        return node.stubsTo(to);
    }

    private void checkMember(String to) {
        if (!memberSet.contains(to)) {
            throw new IllegalArgumentException("'" + to + "' is not a member of group '" + name + "' " + members);
        }
    }

    /** The value of an OK reply, or the remote exception of a FAILED one. */
    @SuppressWarnings("unchecked")
    <R> R value(String from, Frame reply, String what) {
        Object decoded = node.codec().decode(reply.payload(), reply.allowances(), node::manager);
        if (reply.kind() == Frame.FAILED) {
            throw new RemoteCallException(from, what, Failures.rebuild(from, decoded));
        }
        return (R) decoded;
    }

    private <R> RemoteRef<R> ref(String owner, Frame reply) {
        if (reply.kind() == Frame.FAILED) {
            value(owner, reply, "remote to '" + owner + "' in group '" + name + "'");
        }
        return new RemoteRef<>(this, node, owner, reply.id());
    }

    // ---------------------------------------------------------------------------------------------- pairs

    /**
     * Shares {@code value} under {@code key}, if no member has paired the key yet; every member's table then holds
     * it (a copy; NDArrays travel as bytes) until this member unpairs it, destroys the group or leaves.
     *
     * @param key the key
     * @param value a serializable value or tensor
     * @return true if this call paired the key, false if it was paired already (by any member)
     * @throws GroupTimeoutException if the change was not delivered within the timeout
     */
    public boolean pair(String key, Object value) {
        checkOpen();
        checkKey(key);
        return await(node.changeTable(KeyTable.PAIR, name, key, node.codec().encode(value, value), timeout));
    }

    /**
     * Removes the pair of {@code key}, if this member paired it.
     *
     * @param key the key
     * @return true if it was removed, false if the key is not paired or another member holds it
     */
    public boolean unpair(String key) {
        checkOpen();
        checkKey(key);
        return await(node.changeTable(KeyTable.UNPAIR, name, key, null, timeout));
    }

    /**
     * Whether {@code key} is paired, in this member's copy of the table (which has every change this member made,
     * and the others' in the agreed order, as they arrive).
     *
     * @param key the key
     * @return true if paired
     */
    public boolean isPaired(String key) {
        checkKey(key);
        return node.table().pair(name, key).isPresent();
    }

    /**
     * The value paired under {@code key}, decoded from this member's copy of the table; NDArrays in it attach to
     * {@link World#manager()}.
     *
     * @param key the key
     * @param <T> the value's type
     * @return a copy of the value
     * @throws NoSuchElementException if the key is not paired
     */
    @SuppressWarnings("unchecked")
    public <T> T getPaired(String key) {
        checkKey(key);
        KeyTable.Entry e = node.table().pair(name, key).orElseThrow(() -> new NoSuchElementException("key '" + key
                + "' is not paired in group '" + name + "' (pair it first, or check isPaired)"));
        return (T) node.codec().decode(e.value(), e.allowances(), node::manager);
    }

    // ---------------------------------------------------------------------------------------------- services

    /**
     * Registers {@code service} under {@code key}, if no member has registered the key yet; it stays in this
     * process, and every member calls it with {@link #registeredSync} until this member deregisters it, destroys
     * the group or leaves.
     *
     * @param key the key
     * @param service the service; called concurrently, so it must be thread-safe
     * @return true if this call registered the key, false if it was registered already (by any member)
     */
    public boolean register(String key, Service service) {
        checkOpen();
        checkKey(key);
        Objects.requireNonNull(service, "service");
        if (!node.holdService(name, key, (ignored, args) -> service.call(args))) {
            return false; // this member holds the key already
        }
        boolean won = false;
        try {
            won = await(node.changeTable(KeyTable.REGISTER, name, key, null, timeout));
            return won;
        } finally {
            if (!won) {
                node.dropService(name, key);
            }
        }
    }

    /**
     * Removes the registration of {@code key}, if this member registered it.
     *
     * @param key the key
     * @return true if it was removed, false if the key is not registered or another member holds it
     */
    public boolean deregister(String key) {
        checkOpen();
        checkKey(key);
        boolean removed = await(node.changeTable(KeyTable.DEREGISTER, name, key, null, timeout));
        if (removed) {
            node.dropService(name, key);
        }
        return removed;
    }

    /**
     * Whether a service is registered under {@code key}, in this member's copy of the table.
     *
     * @param key the key
     * @return true if registered
     */
    public boolean isRegistered(String key) {
        checkKey(key);
        return node.table().service(name, key).isPresent();
    }

    /**
     * Calls the service registered under {@code key}, in the member that holds it, and waits for the result.
     *
     * @param key the key
     * @param args the service's arguments
     * @param <R> the result type
     * @return its result
     * @throws NoSuchElementException if no service is registered under the key
     * @throws RemoteCallException if it threw
     * @throws MemberLostException if its holder died during the call
     */
    public <R> R registeredSync(String key, Object... args) {
        return await(registeredAsync(key, args));
    }

    /**
     * Calls the service registered under {@code key}, in the member that holds it.
     *
     * @param key the key
     * @param args the service's arguments
     * @param <R> the result type
     * @return its future result, completed exceptionally as {@link #registeredSync} throws
     * @throws NoSuchElementException if no service is registered under the key
     */
    public <R> CompletableFuture<R> registeredAsync(String key, Object... args) {
        String owner = holderOf(key);
        return service(owner, key, Frame.SERVICE, args).thenApply(reply -> value(owner, reply, "service '" + key
                + "' of group '" + name + "'"));
    }

    /**
     * Calls the service registered under {@code key} and keeps the result in the member that holds it.
     *
     * @param key the key
     * @param args the service's arguments
     * @param <R> the result type
     * @return a reference to the result, held in the service's member until the reference is closed
     * @throws NoSuchElementException if no service is registered under the key
     * @throws RemoteCallException if it threw
     */
    public <R> RemoteRef<R> registeredRemote(String key, Object... args) {
        String owner = holderOf(key);
        return await(service(owner, key, Frame.SERVICE_REMOTE, args).thenApply(reply -> ref(owner, reply)));
    }

    private String holderOf(String key) {
        checkOpen();
        checkKey(key);
        return node.table().service(name, key).orElseThrow(() -> new NoSuchElementException("no service is "
                + "registered under key '" + key + "' in group '" + name + "' (register it first, or check "
                + "isRegistered)")).owner();
    }

    private CompletableFuture<Frame> service(String owner, String key, byte kind, Object[] args) {
        Object[] a = args == null ? new Object[0] : args;
        PayloadCodec.Encoded payload = node.codec().encodeFor(node.stubsTo(owner), a, a);
        Frame f = new Frame(kind, (byte) 0, timeout.toMillis(), name, key, "", null).with(payload);
        return node.request(owner, f, payload.handedOff(), timeout, "service '" + key + "' of group '" + name
                + "' in '" + owner + "'");
    }

    private static void checkKey(String key) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("key='" + key + "' (expected a non-empty key)");
        }
    }

    // ---------------------------------------------------------------------------------------------- barrier

    /**
     * {@link #barrier(Duration)} with this view's timeout.
     *
     * @throws MemberLostException if a member dies before reaching it
     * @throws GroupTimeoutException if the timeout passes
     */
    public void barrier() {
        barrier(timeout);
    }

    /**
     * Waits until every member of the group has called its {@code n}-th barrier, where this is this member's
     * {@code n}-th. A timeout does not take this member's arrival back: the others pass the {@code n}-th barrier
     * when they reach it, and this member's next call is its {@code (n+1)}-th, so the members stay in step only if
     * each makes the same number of calls.
     *
     * @param timeout how long to wait
     * @throws MemberLostException naming the member, if one dies or leaves before reaching the barrier
     * @throws GroupTimeoutException if the timeout passes while the missing members are alive
     * @throws IllegalArgumentException if the timeout is not positive
     */
    public void barrier(Duration timeout) {
        checkOpen();
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout=" + timeout + " (expected > 0)");
        }
        node.barrier(name, shared.barriers.incrementAndGet(), memberSet, timeout);
    }

    // ---------------------------------------------------------------------------------------------- lifecycle

    /**
     * Closes this member's side of the group: its pairs and registrations go (in every member's table), later
     * calls to it from other members wait for it to be created again, and this object's methods fail. Idempotent.
     */
    public void destroy() {
        if (!shared.destroyed.compareAndSet(false, true) || node.isClosed()) {
            return;
        }
        try {
            await(node.changeTable(KeyTable.DROP, name, "*", null, timeout));
        } finally {
            world.forget(this);
        }
    }

    /**
     * Whether {@link #destroy()} ran (or the World was closed).
     *
     * @return true if this group can no longer be used
     */
    public boolean isDestroyed() {
        return shared.destroyed.get() || node.isClosed();
    }

    private void checkOpen() {
        if (isDestroyed()) {
            throw new IllegalStateException("group '" + name + "' of member '" + world.name() + "' is "
                    + (node.isClosed() ? "closed with its World (join a new World, then create the group in it)"
                    : "destroyed (create it again with World.createRpcGroup)"));
        }
    }

    /** Waits for a future, rethrowing its failure as it is (unchecked). */
    static <T> T await(CompletableFuture<T> f) {
        try {
            return f.get();
        } catch (ExecutionException | CompletionException e) {
            Throwable c = e.getCause();
            if (c instanceof CompletionException && c.getCause() != null) {
                c = c.getCause();
            }
            if (c instanceof RuntimeException re) {
                re.addSuppressed(new Exception("waited for here"));
                throw re;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a call of group", e);
        }
    }

    @Override
    public String toString() {
        return "RpcGroup[" + name + ", members " + members + ", timeout " + timeout.toMillis() + " ms]";
    }
}
