/**
 * The wire protocol between a process pool and its worker JVMs; not API.
 *
 * <p>One list of message type codes ({@link dev.tessera.pool.internal.protocol.MessageTypes}), one
 * flyweight per message that has a body (its layout drawn in its Javadoc, field offsets as constants,
 * encoding and decoding side by side), one framing class
 * ({@link dev.tessera.pool.internal.protocol.MessageChannel}), and the settings a worker reads from its
 * command line before its first message ({@link dev.tessera.pool.internal.protocol.LaunchSettings}). The
 * model is Aeron's {@code io.aeron.command}.
 *
 * <p>Invariants: each side has one reader and one writer, so there is no locking; a body's variable parts
 * follow its fixed fields and are sent without copying, and received ones are decoded in place (offset and
 * length into the frame's array); every length a received body declares is checked against the body before
 * it is used. Function ids belong to the parent (see {@link dev.tessera.pool.internal.protocol.TaskFlyweight}).
 * Payloads inside the bodies (functions, arguments, results, errors) are the codec's business, not this
 * package's.
 */
package dev.tessera.pool.internal.protocol;
