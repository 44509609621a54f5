package dev.tessera.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.tessera.distributed.server.OrderedServer;
import dev.tessera.distributed.server.ServerMemberMain;
import dev.tessera.distributed.testing.Await;
import dev.tessera.distributed.testing.MemberJvm;
import dev.tessera.sharedmem.SegmentInfo;
import dev.tessera.sharedmem.SegmentReaper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * NDArrays between two JVMs on this host (this one, worker-0, and a child, worker-1, hosting ordered server
 * {@code s}): 64 MB arrays through an RPC and through the ordered server arrive equal by shared-memory stub, and as
 * bytes when bytes are forced; a receiver killed while it holds a stub, or before it opened one, a sender killed
 * right after sending, and a reply whose caller gave up, leave no segment behind (nor busy in a staging pool). Every test has a segment directory of its own, shared with the child,
 * and fails if a file is left in it; a World per test, since the transport is a World option.
 */
class TensorStubsTest {
    private static final long ELEMENTS = 16L << 20; // float32: 64 MiB
    private static final long WAIT_MS = 30_000;

    private Path dir;
    private MemberJvm child;
    private World world;
    private RpcGroup g;
    private OrderedServer server;
    private NDManager manager;

    @BeforeEach
    void segmentDirectory() throws IOException {
        dir = Files.createTempDirectory(Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm"
                : System.getProperty("java.io.tmpdir")), "tessera-stubs-test-");
        System.setProperty("tessera.shm.dir", dir.toString());
    }

    private void start(boolean forceBytes) throws Exception {
        String coordinator = Await.freeCoordinator();
        CompletableFuture<World> joining = CompletableFuture.supplyAsync(() -> World.builder().setName("worker-0")
                .setRank(0).setWorldSize(2).optCoordinator(coordinator).optJoinTimeout(Duration.ofSeconds(60))
                .optRpcTimeout(Duration.ofSeconds(60)).optTensorBytes(forceBytes).build());
        child = MemberJvm.start(ServerMemberMain.class, 1, 2, coordinator, false, List.of("-Xmx1g", "-Dtessera.shm.dir=" + dir,
                "-D" + World.TENSOR_BYTES_PROPERTY + "=" + forceBytes), "hosted", "worker-1", "3");
        world = joining.get(90, TimeUnit.SECONDS);
        g = world.createRpcGroup("g", world.members());
        server = OrderedServer.builder().setName("s").setGroup(g).optVersionDepth(3)
                .optTimeout(Duration.ofSeconds(60)).optHost("worker-1").build();
        child.expect("READY", 60);
        manager = world.manager();
    }

    @AfterEach
    void stop() throws Exception {
        try {
            if (server != null) {
                server.close();
            }
            if (child != null && child.process().isAlive()) {
                assertEquals(0, child.exit(30), "the member exits cleanly when told");
            }
        } finally {
            if (world != null) {
                world.close();
            }
            if (child != null) {
                child.close();
            }
            System.clearProperty("tessera.shm.dir");
            List<String> left = files();
            deleteTree(dir);
            assertEquals(List.of(), left, "files left in the segment directory");
        }
    }

    @Test
    void largeArraysTravelByStubBetweenMembersOnOneHost() throws Exception {
        start(false);
        assertTrue(g.sharesMemoryWith("worker-1"));
        NDArray x = pattern();
        long mine = world.stubsHandedOff();
        long theirs = g.rpcSync("worker-1", Functions::handedOff);

        assertEquals(1L, g.<NDArray, Long>rpcSync("worker-1", Functions::segmentsDuring, x),
                "the argument is one segment while the callee holds it");
        NDArray y = g.rpcSync("worker-1", Functions::plusOne, x);
        assertTrue(x.add(1).contentEquals(y), "the result equals x + 1");
        assertEquals(mine + 2, world.stubsHandedOff(), "two arguments went by stub");
        assertEquals(theirs + 1, (long) g.rpcSync("worker-1", Functions::handedOff), "one result went by stub");
        assertEquals(List.of(), busy(), "each segment was given back when its receiver was done with it");

        long sent = world.stubsHandedOff();
        assertTrue(server.push("w", x, 1, 0));
        NDArray pulled = server.pull("w");
        assertTrue(x.contentEquals(pulled), "the pulled value equals the pushed one");
        assertEquals(sent + 1, world.stubsHandedOff(), "the pushed value went by stub");
        assertEquals(theirs + 2, (long) g.rpcSync("worker-1", Functions::handedOff), "the pulled value went by stub");
        assertEquals(List.of(), busy());

        NDArray small = manager.arange(1000f);
        assertTrue(small.add(1).contentEquals(g.rpcSync("worker-1", Functions::plusOne, small)));
        assertEquals(sent + 1, world.stubsHandedOff(), "an array of at most 1 MiB travels as bytes");
    }

    @Test
    void forcedBytesCarryLargeArraysWithoutSharedMemory() throws Exception {
        start(true);
        assertFalse(g.sharesMemoryWith("worker-1"));
        NDArray x = pattern();
        try {
            assertEquals(0L, g.<NDArray, Long>rpcSync("worker-1", Functions::segmentsDuring, x), "no segment");
        } catch (RuntimeException e) {
            throw new AssertionError("the call failed; the child's stderr:\n" + child.stderrText(), e);
        }
        NDArray y = g.rpcSync("worker-1", Functions::plusOne, x);
        assertTrue(x.add(1).contentEquals(y), "the result equals x + 1");
        assertTrue(server.push("w", x, 1, 0));
        assertTrue(x.contentEquals((NDArray) server.pull("w")), "the pulled value equals the pushed one");
        assertEquals(0, world.stubsHandedOff());
        assertEquals(0L, (long) g.rpcSync("worker-1", Functions::handedOff));
    }

    @Test
    void aReceiverKilledWhileHoldingAStubLeavesNoSegment() throws Exception {
        start(false);
        long pid = child.process().pid();
        CompletableFuture<Long> call = g.rpcAsync("worker-1", Functions::holdForever, pattern());
        Await.until(() -> segments().stream().anyMatch(s -> s.attachedPids().contains(pid)), WAIT_MS,
                "the callee taking the argument's segment over");
        child.kill();
        ExecutionException e = assertThrows(ExecutionException.class, () -> call.get(WAIT_MS, TimeUnit.MILLISECONDS));
        assertTrue(e.getCause() instanceof MemberLostException, e.toString());
        Await.until(() -> busy().isEmpty(), WAIT_MS, "the dead callee's segment coming back to the pool");
    }

    @Test
    void aReceiverKilledBeforeOpeningAStubLeavesNoSegment() throws Exception {
        start(false);
        // group h exists only here: the child waits for it (up to its rpc timeout) before decoding anything
        RpcGroup h = world.createRpcGroup("h", world.members());
        CompletableFuture<Long> call = h.rpcAsync("worker-1", Functions::holdForever, pattern());
        assertEquals(1, busy().size(), "the argument's segment, in flight");
        assertEquals(List.of(ProcessHandle.current().pid()), segments().getFirst().attachedPids(),
                "nobody but its staging pool holds it");
        child.kill();
        ExecutionException e = assertThrows(ExecutionException.class, () -> call.get(WAIT_MS, TimeUnit.MILLISECONDS));
        assertTrue(e.getCause() instanceof MemberLostException, e.toString());
        Await.until(() -> busy().isEmpty(), WAIT_MS, "the stub nobody opened coming back to the pool");
    }

    @Test
    void aReplyTheCallerGaveUpOnIsTakenBackByItsSender() throws Exception {
        start(false);
        RpcGroup quick = g.withTimeout(Duration.ofSeconds(2));
        assertThrows(GroupTimeoutException.class, () -> quick.rpcSync("worker-1", Functions::slowPlusOne, pattern()));
        long callee = child.process().pid();
        Await.until(() -> busy().stream().map(SegmentInfo::ownerPid).toList().equals(List.of(callee)), WAIT_MS,
                "the late reply's stub (the callee's), which nobody will decode, in flight, and nothing else");
        Await.until(() -> busy().isEmpty(), WAIT_MS, "the callee taking the late reply's stub back");
    }

    @Test
    void aSenderKilledRightAfterSendingLeavesNoSegment() throws Exception {
        start(false);
        child.send("send-big worker-0");
        child.expect("SENDING", 60);
        assertTrue(Functions.ARRIVED.await(WAIT_MS, TimeUnit.MILLISECONDS), "the 64 MB argument arrived here");
        child.kill();
        assertEquals(1, files().size(), "the argument's segment, held here");
        Functions.RELEASE.countDown();
        Await.until(() -> files().isEmpty(), WAIT_MS, "the dead sender's segment going when the call here ends");
    }

    /** 64 MiB of float32 whose every element differs from its neighbours. */
    private NDArray pattern() {
        return manager.arange(0f, (float) ELEMENTS).mod(1009f).reshape(new Shape(ELEMENTS));
    }

    /** Segments held by anything but their creator's staging pool (a free pool segment is one reference, its own). */
    private List<SegmentInfo> busy() {
        return segments().stream().filter(s -> s.refCount() != 1 || !s.attachedPids().equals(List.of(s.ownerPid())))
                .toList();
    }

    private List<SegmentInfo> segments() {
        return SegmentReaper.list(dir);
    }

    private List<String> files() {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
