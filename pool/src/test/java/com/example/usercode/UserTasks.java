package com.example.usercode;

import dev.tessera.pool.ContextFunction;
import dev.tessera.pool.Initializer;
import dev.tessera.pool.SerializableCallable;
import dev.tessera.pool.SerializableFunction;
import java.io.Serializable;

/**
 * Task code as a user of the pools writes it, in a package the pools' default allow-list does not cover:
 * lambdas and method references captured here, and plain serializable classes.
 */
public final class UserTasks {
    private UserTasks() {}

    /** A lambda whose capturing class is this one. */
    public static SerializableFunction<Integer, Integer> doubler() {
        return x -> x * 2;
    }

    /** The size of a list argument, whatever its elements. */
    public static SerializableFunction<java.util.List<?>, Integer> size() {
        return java.util.List::size;
    }

    /** A method reference captured here. */
    public static SerializableFunction<Integer, Point> diagonal() {
        return Point::diagonal;
    }

    /** A lambda capturing a user value. */
    public static SerializableFunction<Integer, Integer> plus(Point offset) {
        return x -> x + offset.x() + offset.y();
    }

    /** A callable lambda. */
    public static SerializableCallable<String> hello() {
        return () -> "hello from " + ProcessHandle.current().pid();
    }

    /** A context function: the worker's context is a {@link Tally}. */
    public static ContextFunction<Tally, Integer, String> tallied() {
        return (tally, x) -> tally.name() + ":" + (tally.start() + x);
    }

    /** A lambda that captures a value of another package, which nothing allows. */
    public static SerializableFunction<Integer, Integer> capturing(Object foreign) {
        return x -> x + foreign.hashCode() * 0;
    }

    /** Reads an environment variable or, for a name with a dot, a system property, in the worker. */
    public static SerializableFunction<String, String> lookup() {
        return name -> name.contains(".") ? System.getProperty(name) : System.getenv(name);
    }

    /** An initializer that stores its argument in the system property {@code tessera.test.init}. */
    public static Initializer recordInit() {
        return args -> System.setProperty("tessera.test.init", String.valueOf(args[0]));
    }

    /** A user result class. */
    public record Point(int x, int y) implements Serializable {
        static Point diagonal(int v) {
            return new Point(v, v);
        }
    }

    /** A user context class. */
    public record Tally(String name, int start) implements Serializable {}

    /** A task object (not a lambda) of a user class. */
    public static final class Square implements SerializableFunction<Integer, Integer> {
        private static final long serialVersionUID = 1L;

        @Override
        public Integer apply(Integer x) {
            return x * x;
        }
    }
}
