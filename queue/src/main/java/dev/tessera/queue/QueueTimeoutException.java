package dev.tessera.queue;

import java.time.Duration;

/**
 * Immutable and thread-safe, and holds no memory of the queue: thrown when {@link SimpleQueue#get(Duration)} finds
 * no message before its timeout (Python's {@code queue.Empty}).
 */
public final class QueueTimeoutException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String queueName;
    private final Duration timeout;

    /**
     * Creates the exception; the message names the queue, the timeout and what the caller can do.
     *
     * @param queueName the queue's name
     * @param timeout the timeout that passed
     */
    public QueueTimeoutException(String queueName, Duration timeout) {
        super("no message arrived in queue " + queueName + " within " + timeout
                + "; wait longer, or use poll() to check without waiting");
        this.queueName = queueName;
        this.timeout = timeout;
    }

    /**
     * The queue that was waited on.
     *
     * @return its name
     */
    public String queueName() {
        return queueName;
    }

    /**
     * How long the caller waited.
     *
     * @return the timeout given to {@code get}
     */
    public Duration timeout() {
        return timeout;
    }
}
