package com.example.usercode;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serial;
import java.io.Serializable;

/** Values whose serialization throws an {@link Error}: when written, or when read back. */
public final class Hostile implements Serializable {
    @Serial
    private static final long serialVersionUID = 1L;

    /** When this value throws. */
    public enum When { WRITE, READ_STACK_OVERFLOW, READ_ASSERTION }

    private final When when;

    public Hostile(When when) {
        this.when = when;
    }

    @Serial
    private void writeObject(ObjectOutputStream out) throws IOException {
        if (when == When.WRITE) {
            throw new AssertionError("Hostile.writeObject throws an Error");
        }
        out.defaultWriteObject();
    }

    @Serial
    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        if (when == When.READ_STACK_OVERFLOW) {
            throw new StackOverflowError("Hostile.readObject throws a StackOverflowError");
        }
        if (when == When.READ_ASSERTION) {
            throw new AssertionError("Hostile.readObject throws an Error");
        }
    }

    /** A task of this package (so its results are allowed) that returns a {@code Hostile}. */
    public static dev.tessera.pool.SerializableFunction<Integer, Hostile> returning(When when) {
        return x -> new Hostile(when);
    }

    /** A singly linked list node; a long chain overflows the stack of Java serialization. */
    public record Node(int value, Node next) implements Serializable {
        /** A chain of {@code n} nodes. */
        public static Node chain(int n) {
            Node head = null;
            for (int i = 0; i < n; i++) {
                head = new Node(i, head);
            }
            return head;
        }
    }
}
