/**
 * Parameter servers for distributed training on a World (after machin's {@code machin.parallel.server}, issue #13):
 * {@link dev.tessera.distributed.server.OrderedServer} (versioned key-value data with compare-and-set pushes, hosted
 * on one member or replicated with Raft), {@link dev.tessera.distributed.server.PushPullModelServer} (whole DJL
 * models by optimistic compare-and-set), {@link dev.tessera.distributed.server.PushPullGradServer} (gradients
 * batched by reducers and applied by a primary's optimizer) and {@link dev.tessera.distributed.server.Servers}
 * (one-call set-ups).
 *
 * <p>Design: everything travels through an {@link dev.tessera.distributed.RpcGroup} (services registered in the
 * group's table; collective set-up with its barrier), so the servers use only the public API of the distributed
 * module. The push rules live in one class, {@code VersionedTable}, applied to byte-array commands: directly by a
 * host, or in Raft log order by every replica of a replicated server (jgroups-raft on a channel of its own, with the
 * pure-Java file log), which is what makes compare-and-set linearizable and an acknowledged push durable on a
 * majority. Pushes carry request ids so that a client may retry one on another replica after its replica died
 * without applying it twice. Beyond machin: reducers flush on a timer, stale gradients are dropped and counted, and
 * a dead reducer is reported while its clients move on.
 */
package dev.tessera.distributed.server;
