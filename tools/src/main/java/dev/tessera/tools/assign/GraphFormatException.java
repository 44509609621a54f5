package dev.tessera.tools.assign;

/**
 * Bad input in a graph file: the message names the file, the field or line (or the limit crossed), and the
 * problem. Immutable and thread-safe, as exceptions are.
 */
public class GraphFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public GraphFormatException(String message) {
        super(message);
    }

    public GraphFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
