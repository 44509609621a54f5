package dev.tessera.distributed.internal;

import ai.djl.ndarray.NDManager;
import dev.tessera.distributed.GroupTimeoutException;
import dev.tessera.distributed.MemberLostException;
import dev.tessera.distributed.internal.PayloadCodec.Encoded;
import dev.tessera.sharedmem.StagingPool;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.jgroups.Address;
import org.jgroups.BytesMessage;
import org.jgroups.JChannel;
import org.jgroups.Message;
import org.jgroups.Receiver;
import org.jgroups.SuspectedException;
import org.jgroups.View;
import org.jgroups.blocks.MessageDispatcher;
import org.jgroups.blocks.RequestHandler;
import org.jgroups.blocks.RequestOptions;
import org.jgroups.blocks.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This process's member of a World: one JGroups channel, its {@link MessageDispatcher}, the replicated
 * {@link KeyTable}, barrier arrivals and the values held for remote references. Thread-safe; it owns the channel,
 * a pool of threads for user code, the values it holds, and a lazily created {@link NDManager} that
 * decoded NDArrays attach to; {@link #close()} releases them all.
 *
 * <p>Delivery: table changes and barrier arrivals are applied on the delivering thread (they are short, and table
 * changes must be applied in delivery order); calls run user code on a pool thread and reply asynchronously, so
 * a slow function never holds up delivery, and a function may itself call other members.
 *
 * <p>Failure: a request to a member that leaves the view fails with a JGroups {@link SuspectedException}, which
 * becomes {@link MemberLostException}; barrier waits are woken by every view change and check who is gone.
 */
public final class Node implements RequestHandler, Receiver, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Node.class);
    private static final long PROGRESS_MILLIS = 5_000;
    /** Pause between two probes of the coordinator's port, or two join attempts. */
    private static final long RETRY_MILLIS = 50;
    /** How long one probe of the coordinator's port may take to connect. */
    private static final int PROBE_MILLIS = 500;

    private final Settings settings;
    private final Invoker invoker;
    private final PayloadCodec codec;
    /** The manager of the call running on this thread (its arguments and its result), while user code runs. */
    private static final ThreadLocal<LazyManager> CALL_MANAGER = new ThreadLocal<>();
    private final KeyTable table = new KeyTable();
    private final Handoffs handoffs = new Handoffs();
    /** The shared memory NDArrays to members on this host are copied into; created on first use (see codec). */
    private final StagingPool staging = PayloadCodec.stagingPool();
    private final JChannel channel;
    private final MessageDispatcher dispatcher;
    /**
     * Runs user code. Platform threads, cached: measured on a loaded 2-core host, handing a request to a virtual
     * thread cost 190-270 us per round trip against 115-190 us for a parked platform thread (the ForkJoinPool carrier
     * has to be woken as well); a blocked call holds one thread, as it would hold a virtual one.
     */
    private final ExecutorService executor =
            Executors.newCachedThreadPool(Thread.ofPlatform().daemon().name("tessera-call-", 0).factory());
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final AtomicLong ids = new AtomicLong();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final ConcurrentHashMap<String, CompletableFuture<Set<String>>> groups = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, CompletableFuture<Boolean>> tableChanges = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Invoker> services = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, Held> held = new ConcurrentHashMap<>();
    /** Barrier arrivals: group, then barrier number, then the members that arrived. Guarded by {@link #lock}. */
    private final Map<String, Map<Long, Set<String>>> arrivals = new HashMap<>();
    private volatile Members members = Members.NONE;
    private volatile NDManager manager;

    /** A value kept here for a remote reference, the member that asked for it, and the manager its NDArrays use. */
    private record Held(Object value, String creator, LazyManager manager, String allowances) {}

    private Node(Settings settings, Invoker invoker) {
        this.settings = settings;
        this.invoker = invoker;
        this.codec = new PayloadCodec(settings.name(), settings.allowPatterns(), staging);
        this.channel = StackConfig.channel(settings, settings.rank() == 0 ? settings.coordinatorPort() : 0);
        channel.addAddressGenerator(() -> Members.address(settings.name(), settings.rank(), settings.worldSize()));
        channel.name(settings.name());
        this.dispatcher = new MessageDispatcher(channel, this).asyncDispatching(true);
        dispatcher.setReceiver(this);
    }

    /**
     * Joins the World and waits until all its members are in the view.
     *
     * @throws IllegalStateException if the World is not complete within the join timeout, or two members share a
     *     name or rank
     */
    public static Node join(Settings settings, Invoker invoker) {
        long deadline = System.nanoTime() + settings.joinTimeout().toNanos();
        int attempts = 0;
        while (true) {
            attempts++;
            if (settings.rank() != 0) {
                awaitCoordinatorPort(settings, deadline, attempts);
            }
            // a fresh channel (and so a fresh address) for every attempt: a member that reconnected under its old
            // address had its first messages dropped as duplicates by the others' SEQUENCER
            Node node = new Node(settings, invoker);
            try {
                if (node.connect()) {
                    node.awaitComplete(deadline);
                    return node;
                }
            } catch (RuntimeException | Error e) {
                node.close();
                throw e;
            }
            node.close();
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException(noWorld(settings, attempts));
            }
            if (attempts % 5 == 0) {
                LOG.info("{}: no World at {} yet ({} attempts); retrying", settings.name(), coordinator(settings),
                        attempts);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(RETRY_MILLIS));
        }
    }

    /**
     * Connects this node's channel once.
     *
     * @return false if this is not rank 0 and it found itself alone: nobody answered at the coordinator, so it must
     *     not stay there as a World of its own (only rank 0 founds the World)
     */
    private boolean connect() {
        try {
            channel.connect(settings.cluster());
        } catch (Exception e) {
            throw new IllegalStateException("member '" + settings.name() + "' cannot join the World at "
                    + coordinator(settings) + ": " + e.getMessage(), e);
        }
        boolean alone = channel.getView().size() == 1;
        if (settings.rank() == 0 || !alone) {
            LOG.debug("{} joined: {}", settings.name(), channel.getView());
            return true;
        }
        return false;
    }

    /**
     * Waits until something accepts connections at the coordinator's address, so that a rank started before rank 0
     * does not connect to nobody and found a one-member cluster that rank 0's discovery may then take for the World.
     */
    private static void awaitCoordinatorPort(Settings settings, long deadline, int attempts) {
        InetSocketAddress at = new InetSocketAddress(settings.coordinator(), settings.coordinatorPort());
        int probes = 0;
        while (true) {
            try (Socket probe = new Socket()) {
                probe.connect(at, PROBE_MILLIS);
                return;
            } catch (IOException e) {
                probes++;
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException(noWorld(settings, attempts) + " (nothing listens there: "
                            + e.getMessage() + ")");
                }
                if (probes % (PROGRESS_MILLIS / RETRY_MILLIS) == 0) {
                    LOG.info("{}: waiting for rank 0 to listen at {}", settings.name(), coordinator(settings));
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(RETRY_MILLIS));
            }
        }
    }

    private static String noWorld(Settings settings, int attempts) {
        return "member '" + settings.name() + "' (rank " + settings.rank() + ") found no World at the coordinator "
                + coordinator(settings) + " within " + settings.joinTimeout().toMillis() + " ms (" + attempts
                + " attempts); start rank 0 with optCoordinator(\"" + coordinator(settings)
                + "\"), or raise optJoinTimeout";
    }

    private static String coordinator(Settings settings) {
        return settings.coordinator().getHostAddress() + ":" + settings.coordinatorPort();
    }

    private String coordinator() {
        return coordinator(settings);
    }

    private void awaitComplete(long deadline) {
        long nextLog = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PROGRESS_MILLIS);
        lock.lock();
        try {
            while (true) {
                Members m = members;
                String conflict = m.conflict(settings.worldSize());
                if (conflict != null) {
                    throw new IllegalStateException("the World at " + coordinator() + " cannot form: " + conflict);
                }
                if (m.size() >= settings.worldSize()) {
                    return;
                }
                long now = System.nanoTime();
                if (now >= deadline) {
                    throw new IllegalStateException("member '" + settings.name() + "': " + m.size() + " of "
                            + settings.worldSize() + " members joined the World at " + coordinator() + " within "
                            + settings.joinTimeout().toMillis() + " ms (" + m.describe() + "); start the missing "
                            + "ranks, or raise optJoinTimeout");
                }
                if (now >= nextLog) {
                    LOG.info("{}: waiting for the World: {} of {} members joined ({})", settings.name(), m.size(),
                            settings.worldSize(), m.describe());
                    nextLog = now + TimeUnit.MILLISECONDS.toNanos(PROGRESS_MILLIS);
                }
                changed.awaitNanos(Math.min(deadline, nextLog) - now);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the World", e);
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------------------------------------- membership

    /** The current members, in rank order. */
    public List<String> members() {
        return members.names();
    }

    /** The current rank of member {@code name}, or -1 if it is not in the view. */
    public int rankOf(String name) {
        int i = members.names().indexOf(name);
        return i < 0 ? -1 : members.ranks().get(i);
    }

    /** The name of the member of rank {@code rank} in the current view, or null if none has it. */
    public String nameOfRank(int rank) {
        Members m = members;
        int i = m.ranks().indexOf(rank);
        return i < 0 ? null : m.names().get(i);
    }

    /** The settings this node was started with. */
    public Settings settings() {
        return settings;
    }

    /** The codec of this World's payloads. */
    public PayloadCodec codec() {
        return codec;
    }

    /**
     * Whether NDArrays for member {@code name} may travel as shared-memory stubs: it is in the view, on this host,
     * and the World does not force bytes ({@code optTensorBytes}).
     */
    public boolean stubsTo(String name) {
        return !settings.tensorBytes() && members.onThisHost(name);
    }

    /** How many shared-memory references this member has handed off in messages (requests and replies). */
    public long stubsHandedOff() {
        return handoffs.handedOffCount();
    }

    @Override
    public void viewAccepted(View view) {
        Members before = members;
        Members now = Members.of(view);
        for (String gone : before.names()) {
            if (!now.contains(gone)) {
                departed(gone, before.onThisHost(gone));
            }
        }
        lock.lock();
        try {
            members = now;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        LOG.debug("{}: view {}", settings.name(), now.describe());
    }

    private void departed(String gone, boolean local) {
        LOG.info("{}: member '{}' left the World", settings.name(), gone);
        if (!closed.get()) {
            // directory scans: not on the delivery thread. A member of this host may have died holding this member's
            // stubs (handoffs), or left its own segments orphaned in calls that ended here before this view (reap)
            executor.execute(() -> {
                handoffs.departed(gone);
                if (local) {
                    handoffs.reap(dev.tessera.sharedmem.SharedSegment.defaultDirectory(), gone);
                }
            });
        }
        table.departed(gone);
        held.values().removeIf(h -> {
            if (h.creator().equals(gone)) {
                h.manager().close();
                return true;
            }
            return false;
        });
    }

    /**
     * The address of member {@code to}.
     *
     * @throws MemberLostException if it is not in the view
     */
    private Address addressOf(String to, String what) {
        Address a = members.byName().get(to);
        if (a == null) {
            throw new MemberLostException(to, what);
        }
        return a;
    }

    // ---------------------------------------------------------------------------------------------- groups

    /** Opens group {@code name} here with {@code groupMembers}; calls that waited for it proceed. */
    public void openGroup(String name, Set<String> groupMembers) {
        CompletableFuture<Set<String>> f = groups.computeIfAbsent(name, n -> new CompletableFuture<>());
        if (!f.complete(Set.copyOf(groupMembers))) {
            throw new IllegalArgumentException("group '" + name + "' already exists in member '" + settings.name()
                    + "' (destroy it first, or choose another name)");
        }
    }

    /** Closes group {@code name} here: later calls to it from other members wait for it to be created again. */
    public void closeGroup(String name) {
        groups.remove(name);
        services.keySet().removeIf(k -> k.startsWith(name + '\0'));
    }

    // ---------------------------------------------------------------------------------------------- requests

    /**
     * Sends a request frame to member {@code to}; the future completes with the reply frame ({@link Frame#OK} or
     * {@link Frame#FAILED}), or exceptionally with {@link MemberLostException} or {@link GroupTimeoutException}.
     */
    public CompletableFuture<Frame> request(String to, Frame frame, Duration timeout, String what) {
        return request(to, frame, List.of(), timeout, what);
    }

    /**
     * As {@link #request(String, Frame, Duration, String)} for a frame whose payload hands off {@code handedOff}
     * (see {@link PayloadCodec.Encoded}): when the request ends, whatever way, those the callee did not take over are
     * taken back.
     */
    public CompletableFuture<Frame> request(String to, Frame frame, List<dev.tessera.sharedmem.TensorRef> handedOff,
            Duration timeout, String what) {
        CompletableFuture<Frame> f = send(to, frame, timeout, what);
        return handedOff.isEmpty() ? f : f.whenComplete((r, e) -> handoffs.settle(to, handedOff));
    }

    private CompletableFuture<Frame> send(String to, Frame frame, Duration timeout, String what) {
        try {
            Message msg = new BytesMessage(addressOf(to, what), frame.toBytes());
            RequestOptions opts = RequestOptions.SYNC().timeout(timeout.toMillis()).flags(Message.Flag.OOB);
            CompletableFuture<byte[]> reply = dispatcher.sendMessageWithFuture(msg, opts);
            // JGroups applies the timeout only to its blocking form; the future gets it here, and a timed-out
            // request is cancelled so that its correlator entry goes
            CompletableFuture<byte[]> timed = reply.copy().orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
            timed.whenComplete((bytes, error) -> {
                if (error instanceof TimeoutException) {
                    reply.cancel(true);
                }
            });
            return timed.handle((bytes, error) -> {
                if (error != null) {
                    throw translate(error, to, what, timeout);
                }
                return Frame.parse(bytes, 0, bytes.length);
            });
        } catch (MemberLostException e) {
            return CompletableFuture.failedFuture(e);
        } catch (Exception e) {
            return CompletableFuture.failedFuture(translate(e, to, what, timeout));
        }
    }

    private RuntimeException translate(Throwable error, String to, String what, Duration timeout) {
        Throwable e = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        if (e instanceof SuspectedException || !members.contains(to)) {
            return new MemberLostException(to, what);
        }
        if (e instanceof TimeoutException) {
            return new GroupTimeoutException(what, timeout);
        }
        if (e instanceof MemberLostException || e instanceof GroupTimeoutException) {
            return (RuntimeException) e;
        }
        return new IllegalStateException(what + " failed in the transport: " + e, e);
    }

    /** Sends a one-way frame to member {@code to}; lost silently if it is gone (for releases). */
    public void send(String to, Frame frame) {
        Address a = members.byName().get(to);
        if (a == null || closed.get()) {
            return;
        }
        try {
            dispatcher.sendMessage(new BytesMessage(a, frame.toBytes()),
                    RequestOptions.ASYNC().flags(Message.Flag.OOB));
        } catch (Exception e) {
            LOG.debug("{}: one-way frame to {} lost: {}", settings.name(), to, e.toString());
        }
    }

    // ---------------------------------------------------------------------------------------------- key table

    /**
     * Multicasts a table change in total order; the future completes with whether it took effect, once this member
     * has applied it (every member applies it at the same point of the order).
     */
    public CompletableFuture<Boolean> changeTable(byte op, String group, String key, PayloadCodec.Encoded value,
            Duration timeout) {
        long id = ids.incrementAndGet();
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        tableChanges.put(id, done);
        Frame f = new Frame(Frame.TABLE, op, id, group, key, value == null ? "" : value.allowances(),
                value == null ? null : value.bytes());
        try {
            dispatcher.castMessage(null, new BytesMessage(null, f.toBytes()), RequestOptions.ASYNC());
        } catch (Exception e) {
            tableChanges.remove(id);
            return CompletableFuture.failedFuture(new IllegalStateException("multicasting a change of key '" + key
                    + "' in group '" + group + "' failed: " + e, e));
        }
        return done.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).whenComplete((r, e) -> tableChanges.remove(id))
                .exceptionallyCompose(e -> CompletableFuture.failedFuture(e instanceof TimeoutException
                        ? new GroupTimeoutException("changing key '" + key + "' in group '" + group + "'", timeout)
                        : e));
    }

    /** The local copy of the replicated table. */
    public KeyTable table() {
        return table;
    }

    /** Keeps {@code service} here for key {@code key} of {@code group}; false if one is kept already. */
    public boolean holdService(String group, String key, Invoker service) {
        return services.putIfAbsent(group + '\0' + key, service) == null;
    }

    /** Forgets the service kept here for key {@code key} of {@code group}. */
    public void dropService(String group, String key) {
        services.remove(group + '\0' + key);
    }

    // ---------------------------------------------------------------------------------------------- barriers

    /**
     * Waits until every member of {@code groupMembers} reached barrier number {@code number} of {@code group}.
     *
     * @throws MemberLostException if one of them leaves the World first
     * @throws GroupTimeoutException if the timeout passes first
     */
    public void barrier(String group, long number, Set<String> groupMembers, Duration timeout) {
        String what = "barrier " + number + " of group '" + group + "'";
        for (String m : groupMembers) {
            addressOf(m, what); // fail at once if one is gone already
        }
        // The arrival is a total-order multicast like the table changes, so it reaches every member after this
        // member's earlier changes: whatever a member paired or registered before a barrier is visible to all after it.
        Frame f = new Frame(Frame.BARRIER, (byte) 0, number, group, String.join("\n", groupMembers), "", null);
        try {
            dispatcher.castMessage(null, new BytesMessage(null, f.toBytes()), RequestOptions.ASYNC());
        } catch (Exception e) {
            throw new IllegalStateException(what + ": sending the arrival failed: " + e, e);
        }
        awaitBarrier(group, number, groupMembers, timeout, what);
    }

    private void awaitBarrier(String group, long number, Set<String> groupMembers, Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            Map<Long, Set<String>> byNumber = arrivals.computeIfAbsent(group, g -> new HashMap<>());
            while (true) {
                Set<String> in = byNumber.getOrDefault(number, Set.of());
                if (in.containsAll(groupMembers)) {
                    byNumber.remove(number);
                    return;
                }
                for (String m : groupMembers) {
                    if (!in.contains(m) && !members.contains(m)) {
                        throw new MemberLostException(m, what);
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    List<String> missing = new ArrayList<>(groupMembers);
                    missing.removeAll(in);
                    throw new GroupTimeoutException(what + " (waiting for " + missing + ")", timeout);
                }
                changed.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(what + ": interrupted", e);
        } finally {
            lock.unlock();
        }
    }

    private void arrived(String group, long number, String member) {
        lock.lock();
        try {
            arrivals.computeIfAbsent(group, g -> new HashMap<>()).computeIfAbsent(number, n -> new HashSet<>())
                    .add(member);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------------------------------------- delivery

    @Override
    public Object handle(Message msg) {
        throw new UnsupportedOperationException("requests are dispatched asynchronously");
    }

    @Override
    public void handle(Message msg, Response response) {
        Frame f = Frame.parse(msg.getArray(), msg.getOffset(), msg.getLength());
        String sender = Members.nameOf(msg.getSrc());
        if (sender == null) {
            return; // not a Tessera member's address: nothing of ours
        }
        switch (f.kind()) {
            case Frame.TABLE -> applyTable(f, sender, msg.getSrc());
            case Frame.BARRIER -> {
                if (java.util.Arrays.asList(f.key().split("\n")).contains(settings.name())) {
                    arrived(f.group(), f.id(), sender); // members outside the group keep nothing
                }
            }
            case Frame.RELEASE -> release(f.id());
            default -> executor.execute(() -> serve(f, sender, response));
        }
    }

    private void applyTable(Frame f, String sender, Address src) {
        // A change from a member no longer in the view is ignored: its entries went (or go) with it, everywhere.
        boolean applied = members.view() != null && members.view().containsMember(src)
                && table.apply(f.op(), f.group(), f.key(), sender, f.payload(), f.allowances());
        if (src.equals(channel.getAddress())) {
            CompletableFuture<Boolean> done = tableChanges.get(f.id());
            if (done != null) {
                done.complete(applied);
            }
        }
    }

    private void release(long id) {
        Held h = held.remove(id);
        if (h != null) {
            h.manager().close();
        }
    }

    /** Runs one request on a pool thread and replies. */
    private void serve(Frame f, String sender, Response response) {
        LazyManager callManager = new LazyManager(this::manager);
        boolean senderLocal = members.onThisHost(sender);
        boolean keep = false;
        List<dev.tessera.sharedmem.TensorRef> stubs = List.of();
        Frame reply;
        CALL_MANAGER.set(callManager);
        try {
            // the reply may hold what the request's allowances admit (the caller's own function and arguments)
            String inherited = f.allowances();
            Object value = switch (f.kind()) {
                case Frame.CALL, Frame.REMOTE -> call(f, sender, callManager);
                case Frame.SERVICE, Frame.SERVICE_REMOTE -> callService(f, sender, callManager);
                case Frame.FETCH -> {
                    Held h = fetch(f.id());
                    inherited = h.allowances();
                    yield h.value();
                }
                default -> throw new IllegalArgumentException("unexpected request " + f);
            };
            if (f.kind() == Frame.REMOTE || f.kind() == Frame.SERVICE_REMOTE) {
                long id = ids.incrementAndGet();
                held.put(id, new Held(value, sender, callManager, inherited));
                keep = true;
                reply = Frame.of(Frame.OK, id, f.group());
            } else {
                Encoded e = codec.encodeFor(stubsTo(sender), inherited, value, value);
                stubs = e.handedOff();
                reply = Frame.of(Frame.OK, 0, f.group()).with(e);
            }
        } catch (Throwable t) {
            reply = Frame.of(Frame.FAILED, 0, f.group()).with(codec.encode(Failures.describe(unwrap(t))));
        } finally {
            CALL_MANAGER.remove();
            if (!keep) {
                callManager.close();
            }
        }
        if (senderLocal && !members.contains(sender)) {
            // the sender died while this call held its stubs: this release left its segments held by the dead
            // sender's staging pool alone, so they are orphans now; the reaper removes them
            handoffs.reap(dev.tessera.sharedmem.SharedSegment.defaultDirectory(), sender);
        }
        boolean sent = false;
        if (response != null && !closed.get()) {
            try {
                response.send(reply.toBytes(), false);
                sent = true;
            } catch (RuntimeException e) {
                LOG.debug("{}: the reply to {} was lost: {}", settings.name(), sender, e.toString());
            }
        }
        // the caller decodes the reply when it arrives, within its timeout (a call's frame id, counted from before
        // this member got the call); a FETCH does not say its timeout: the World's
        long keepMillis = f.kind() == Frame.FETCH || f.id() <= 0 ? settings.rpcTimeout().toMillis() : f.id();
        handoffs.replied(sender, stubs, sent ? TimeUnit.MILLISECONDS.toNanos(keepMillis) : 0);
        if (!sent) {
            handoffs.sweep();
        }
    }

    private static Throwable unwrap(Throwable t) {
        return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    }

    private Object call(Frame f, String sender, LazyManager callManager) throws Exception {
        awaitGroup(f.group(), sender);
        Object[] fnAndArgs = (Object[]) codec.decode(f.payload(), f.allowances(), callManager, true);
        Object[] args = java.util.Arrays.copyOfRange(fnAndArgs, 1, fnAndArgs.length);
        return invoker.invoke(fnAndArgs[0], args);
    }

    private Object callService(Frame f, String sender, LazyManager callManager) throws Exception {
        awaitGroup(f.group(), sender);
        Invoker service = services.get(f.group() + '\0' + f.key());
        if (service == null) {
            throw new IllegalStateException("no service is registered under key '" + f.key() + "' of group '"
                    + f.group() + "' in member '" + settings.name() + "' (it was deregistered or never registered "
                    + "here)");
        }
        Object[] args = (Object[]) codec.decode(f.payload(), f.allowances(), callManager, true);
        return service.invoke(null, args);
    }

    private Held fetch(long id) {
        Held h = held.get(id);
        if (h == null) {
            throw new IllegalStateException("member '" + settings.name() + "' holds no value for reference " + id
                    + " (it was released)");
        }
        return h;
    }

    /** Waits until group {@code name} exists here and checks that {@code sender} belongs to it. */
    private void awaitGroup(String name, String sender) throws Exception {
        Set<String> groupMembers;
        try {
            groupMembers = groups.computeIfAbsent(name, n -> new CompletableFuture<>())
                    .get(settings.rpcTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IllegalStateException("group '" + name + "' was not created in member '" + settings.name()
                    + "' within " + settings.rpcTimeout().toMillis() + " ms; call createRpcGroup(\"" + name
                    + "\", ...) in every member of the group");
        }
        if (!groupMembers.contains(sender)) {
            throw new IllegalStateException("member '" + sender + "' is not in group '" + name + "' of member '"
                    + settings.name() + "' (members " + groupMembers + ")");
        }
    }

    /**
     * The manager of the call that runs user code on this thread: a function or service may attach NDArrays it
     * returns to it, and they are closed once the reply is encoded (or, for a remote reference, when it is released).
     *
     * @throws IllegalStateException outside a call
     */
    public static NDManager callManager() {
        LazyManager m = CALL_MANAGER.get();
        if (m == null) {
            throw new IllegalStateException("no call runs on this thread (callManager() is for functions and services "
                    + "that a member called)");
        }
        return m.get();
    }

    /** The manager NDArrays decoded in this member attach to; created on first use, closed with the node. */
    public NDManager manager() {
        NDManager m = manager;
        if (m == null) {
            synchronized (this) {
                if (closed.get()) {
                    throw new IllegalStateException("the World of member '" + settings.name() + "' is closed");
                }
                m = manager;
                if (m == null) {
                    m = NDManager.newBaseManager();
                    manager = m;
                }
            }
        }
        return m;
    }

    /** Whether {@link #close()} ran. */
    public boolean isClosed() {
        return closed.get();
    }

    /** Leaves the World: the others see this member go. Idempotent; a failure in one step does not stop the rest. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            dispatcher.stop();
        } catch (RuntimeException e) {
            LOG.warn("{}: stopping the dispatcher failed: {}", settings.name(), e.toString());
        }
        try {
            channel.close();
        } catch (RuntimeException e) {
            LOG.warn("{}: closing the channel failed: {}", settings.name(), e.toString());
        }
        executor.shutdownNow();
        handoffs.sweep();
        staging.close(); // free segments go now, those a receiver still holds when it closes them
        Collection<Held> values = new ArrayList<>(held.values());
        held.clear();
        values.forEach(h -> h.manager().close());
        synchronized (this) {
            if (manager != null) {
                manager.close();
            }
        }
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
