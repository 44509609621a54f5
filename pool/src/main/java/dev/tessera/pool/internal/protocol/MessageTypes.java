package dev.tessera.pool.internal.protocol;

/**
 * The one list of message type codes between a pool and its worker JVMs; stateless. Each code's body is
 * laid out by the flyweight named next to it; READY and STOP have no body.
 *
 * <pre>
 * worker                          parent
 *   HELLO  (HelloFlyweight)    →
 *                              ←  INIT (InitFlyweight)
 *   READY | INIT_FAILED        →
 *   (InitFailedFlyweight)
 *                              ←  TASK (TaskFlyweight) ... or STOP
 *   RESULT (ResultFlyweight)   →
 *   | TASK_FAILED (TaskFailedFlyweight)
 * </pre>
 */
public final class MessageTypes {
    /** Worker → parent, first: the pool's random token. */
    public static final byte HELLO = 1;
    /** Parent → worker: the worker's scope, initializer and context. */
    public static final byte INIT = 2;
    /** Worker → parent: the initializer ran; tasks may follow. No body. */
    public static final byte READY = 3;
    /** Worker → parent: the initializer (or decoding INIT) failed; the worker exits. */
    public static final byte INIT_FAILED = 4;
    /** Parent → worker: one chunk of one task. */
    public static final byte TASK = 5;
    /** Worker → parent: the outcome of every item of a TASK. */
    public static final byte RESULT = 6;
    /** Parent → worker: exit now. No body. */
    public static final byte STOP = 7;
    /** Worker → parent: a TASK could not start (its function or arguments could not be decoded). */
    public static final byte TASK_FAILED = 8;

    private MessageTypes() {}

    /** The name of a type code, for protocol-error messages. */
    public static String name(byte type) {
        return switch (type) {
            case HELLO -> "HELLO";
            case INIT -> "INIT";
            case READY -> "READY";
            case INIT_FAILED -> "INIT_FAILED";
            case TASK -> "TASK";
            case RESULT -> "RESULT";
            case STOP -> "STOP";
            case TASK_FAILED -> "TASK_FAILED";
            default -> "unknown type " + type;
        };
    }
}
