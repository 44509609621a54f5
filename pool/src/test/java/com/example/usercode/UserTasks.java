package com.example.usercode;

import dev.tessera.pool.Initializer;
import dev.tessera.pool.SerializableFunction;

/**
 * Tasks written in a user's package (outside {@code dev.tessera}): the lambdas' capturing class is this
 * one, so worker JVMs must allow {@code com.example.**} to deserialize them. Stateless.
 */
public final class UserTasks {
    private UserTasks() {}

    /** Reads an environment variable or, for a name with a dot, a system property, in the worker. */
    public static SerializableFunction<String, String> lookup() {
        return name -> name.contains(".") ? System.getProperty(name) : System.getenv(name);
    }

    /** An initializer that stores its argument in the system property {@code tessera.test.init}. */
    public static Initializer recordInit() {
        return args -> System.setProperty("tessera.test.init", String.valueOf(args[0]));
    }

    /** A user-package result type, which also has to be allowed in the parent. */
    public record Point(int x, int y) implements java.io.Serializable {}

    public static SerializableFunction<Integer, Point> diagonal() {
        return i -> new Point(i, i);
    }
}
